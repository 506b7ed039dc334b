#!/usr/bin/env bash
# Post a Markdown file as the pull request's one report comment, editing it on later pushes.
# Uses CML when it is installed; otherwise the GitHub CLI (present on GitHub-hosted runners).
# Usage: pr-comment.sh REPORT.md   (needs GITHUB_TOKEN; PR_NUMBER for the gh fallback)
set -euo pipefail

report="${1:?usage: pr-comment.sh REPORT.md}"
title="Model report"  # marks the one comment to edit; keep it stable

if command -v cml >/dev/null 2>&1; then
  # --no-publish: never upload images to CML's public asset host.
  exec cml comment update --target=pr --watermark-title="$title" --no-publish "$report"
fi

body="$(mktemp)"
trap 'rm -f "$body"' EXIT
{ printf '<!-- %s -->\n' "$title"; cat "$report"; } > "$body"
gh pr comment "${PR_NUMBER:?PR_NUMBER is needed without CML}" --edit-last --create-if-none --body-file "$body"
