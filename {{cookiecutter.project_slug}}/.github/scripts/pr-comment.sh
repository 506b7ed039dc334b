#!/usr/bin/env bash
# Post a Markdown file as the pull request's one report comment, editing it on later pushes.
# Uses CML when it is installed; otherwise the GitHub CLI (preinstalled on GitHub-hosted
# runners). Both mark the comment with CML's watermark for the title below, so either path
# finds and edits the comment the other made; a comment without it (a person's) is never edited.
# Usage: pr-comment.sh REPORT.md
#   env: GITHUB_TOKEN; for the gh path also GITHUB_REPOSITORY, PR_NUMBER, HEAD_SHA
set -euo pipefail

report="${1:?usage: pr-comment.sh REPORT.md}"
title="Model report"  # marks the one comment to edit; keep it stable

if command -v cml >/dev/null 2>&1; then
  # --no-publish: never upload images to CML's public asset host.
  exec cml comment update --target=pr --watermark-title="$title" --no-publish "$report"
fi

repo="${GITHUB_REPOSITORY:?GITHUB_REPOSITORY is needed without CML}"
number="${PR_NUMBER:?PR_NUMBER is needed without CML}"
sha="${HEAD_SHA:?HEAD_SHA is needed without CML}"

# CML's watermark, as CML writes it; CML finds it whatever the commit sha.
image="https://cml.dev/watermark.png"
body="$(mktemp)"
trap 'rm -f "$body"' EXIT
{ cat "$report"; printf '\n\n![](%s#%s "CML watermark %s")' "$image" "$sha" "$title"; } > "$body"

# The newest comment by the workflow's token (github-actions[bot]) with the watermark on a line
# of its own. (CML itself takes the newest comment holding the watermark, whoever wrote it.)
mine='.[] | select(.user.login == "github-actions[bot]" and (.body | split("\n") | any(
  startswith("![]('"$image"'#") and endswith(" \"CML watermark '"$title"'\")")))) | .id'
id="$(gh api --paginate "repos/$repo/issues/$number/comments" --jq "$mine" | tail -n 1)"
if [ -n "$id" ]; then
  gh api --method PATCH "repos/$repo/issues/comments/$id" -F "body=@$body" --jq .html_url
else
  gh api --method POST "repos/$repo/issues/$number/comments" -F "body=@$body" --jq .html_url
fi
