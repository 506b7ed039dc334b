#!/usr/bin/env bash
# Open the one retraining pull request from $RETRAIN_BRANCH, or refresh it when it exists.
# Commits params.yaml, dvc.lock and the committed reports as they are in the work tree.
# Usage: retrain-pr.sh BODY.md   (env: RETRAIN_BRANCH, BASE_BRANCH, GITHUB_TOKEN)
set -euo pipefail

body_file="${1:?usage: retrain-pr.sh BODY.md}"
branch="${RETRAIN_BRANCH:?RETRAIN_BRANCH is needed}"
base="${BASE_BRANCH:-main}"
title="Retrain ${branch#retrain/} on the newest data"
message="Retrain on the newest data window (drift check)"
paths=(params.yaml dvc.lock reports)

cml repo prepare  # git identity, and the token for the git calls below

refresh=false
if git ls-remote --exit-code --heads origin "$branch" >/dev/null; then
  # `cml pr create` commits nothing when the branch exists: replace its commit ourselves.
  # The branch belongs to this job; each run rebuilds it from the default branch.
  refresh=true
  git switch --quiet --force-create "$branch"
  git add -- "${paths[@]}"
  git commit --quiet --message "$message"
  git push --quiet --force origin "$branch"
fi

# Never --merge, --squash or --rebase: those can merge the pull request at once.
cml pr create --branch "$branch" --target-branch "$base" --title "$title" \
  --message "$message" --body "$(cat "$body_file")" "${paths[@]}"

if [ "$refresh" = true ]; then
  gh pr edit "$branch" --body-file "$body_file"
fi
