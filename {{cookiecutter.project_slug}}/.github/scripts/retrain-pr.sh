#!/usr/bin/env bash
# Open the one retraining pull request from $RETRAIN_BRANCH into the default branch, or
# refresh the open one. Either way the branch is rebuilt as the checked-out commit plus one
# commit of params.yaml, dvc.yaml, dvc.lock, the committed reports and data/ (the .dvc file of
# production rows), and force-pushed: the branch belongs to this job. A merged or closed pull
# request's branch (GitHub keeps it) is replaced and a new pull request opened. Uses the GitHub CLI, preinstalled on GitHub-hosted runners.
# Usage: retrain-pr.sh BODY.md   (env: RETRAIN_BRANCH, GITHUB_TOKEN, GITHUB_REPOSITORY)
set -euo pipefail

body_file="${1:?usage: retrain-pr.sh BODY.md}"
branch="${RETRAIN_BRANCH:?RETRAIN_BRANCH is needed}"
repo="${GITHUB_REPOSITORY:?GITHUB_REPOSITORY is needed (owner/name)}"
token="${GITHUB_TOKEN:?GITHUB_TOKEN is needed}"
title="Retrain ${branch#retrain/} on the newest data"
message="Retrain on the newest data window (drift check)"
paths=(params.yaml dvc.yaml dvc.lock reports data)  # data: production rows' .dvc file

# Asked of the API: a scheduled run's event has no repository in it.
base="$(gh api "repos/$repo" --jq .default_branch)"

git switch --quiet --force-create "$branch"
git add -- "${paths[@]}"
GIT_AUTHOR_NAME="github-actions[bot]" GIT_COMMITTER_NAME="github-actions[bot]" \
  GIT_AUTHOR_EMAIL="41898282+github-actions[bot]@users.noreply.github.com" \
  GIT_COMMITTER_EMAIL="41898282+github-actions[bot]@users.noreply.github.com" \
  git commit --quiet --message "$message"
# The token goes to this one push through the environment: not into .git/config, not on argv.
GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0=http.extraHeader \
  GIT_CONFIG_VALUE_0="Authorization: Basic $(printf 'x-access-token:%s' "$token" | base64 | tr -d '\n')" \
  git push --quiet --force origin "$branch"

open="$(gh api "repos/$repo/pulls?state=open&base=$base&head=${repo%%/*}:$branch" --jq '.[0].number // empty')"
if [ -n "$open" ]; then
  url="$(gh api --method PATCH "repos/$repo/pulls/$open" -F "body=@$body_file" --jq .html_url)"
  echo "Refreshed the retraining pull request: $url"
else
  url="$(gh api --method POST "repos/$repo/pulls" -f head="$branch" -f base="$base" \
    -f title="$title" -F "body=@$body_file" --jq .html_url)"
  echo "Opened the retraining pull request: $url"
fi
echo "Retraining pull request: $url" >> "${GITHUB_STEP_SUMMARY:-/dev/null}"
