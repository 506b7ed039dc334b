#!/usr/bin/env bash
# Post a Markdown file as the pull request's one report comment, editing it on later pushes.
# Uses CML when it is installed; otherwise the GitHub CLI (preinstalled on GitHub-hosted
# runners). Both mark the comment with CML's watermark for the title below, so either path
# finds and edits the comment the other made; a comment without it (a person's) is never edited.
# GitHub refuses a comment over 65,536 characters: the report is built to stay under it, and
# one that does not is cut here, at a line, with a note, rather than not posted at all.
# Usage: pr-comment.sh REPORT.md
#   env: GITHUB_TOKEN; for the gh path also GITHUB_REPOSITORY, PR_NUMBER, HEAD_SHA
set -euo pipefail

report="${1:?usage: pr-comment.sh REPORT.md}"
title="Model report"  # marks the one comment to edit; keep it stable
limit=65300  # characters as GitHub counts them (UTF-16 code units), and room for the watermark

posted="$(mktemp)"
body="$(mktemp)"
trap 'rm -f "$posted" "$body"' EXIT
chars="$(LC_ALL=C.UTF-8 wc -m < "$report")"  # bytes, where the locale is missing: never fewer
astral="$(LC_ALL=C tr -cd '\360-\364' < "$report" | wc -c)"  # emoji and the like count twice
if [ "$((chars + astral))" -le "$limit" ]; then
  cat "$report" > "$posted"
else
  # Whole lines up to the limit in bytes (never fewer than characters); close a code block
  # the cut leaves open.
  LC_ALL=C awk -v limit="$((limit - 300))" '
    { size += length($0) + 1; if (size > limit) exit; print }
    /^ ? ? ?(```|~~~)/ { fenced = !fenced }
    END { if (fenced) print "```" }' "$report" > "$posted"
  printf "\n… cut here: the report was over GitHub's 65,536-character limit.\n" >> "$posted"
fi

if command -v cml >/dev/null 2>&1; then
  # --no-publish: never upload images to CML's public asset host.
  cml comment update --target=pr --watermark-title="$title" --no-publish "$posted"
  exit
fi

repo="${GITHUB_REPOSITORY:?GITHUB_REPOSITORY is needed without CML}"
number="${PR_NUMBER:?PR_NUMBER is needed without CML}"
sha="${HEAD_SHA:?HEAD_SHA is needed without CML}"

# CML's watermark, as CML writes it; CML finds it whatever the commit sha.
image="https://cml.dev/watermark.png"
{ cat "$posted"; printf '\n\n![](%s#%s "CML watermark %s")' "$image" "$sha" "$title"; } > "$body"

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
