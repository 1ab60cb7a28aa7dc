#!/usr/bin/env bash
# A plain shell recipe for any CI: check the committed render, then write the markdown diff
# against a base revision for a review comment (layer-render-diff.md, at most 65,000
# characters) and the full diff beside it (layer-render-diff.txt, to keep as an artifact).
#
# usage: render-check.sh [BASE_REV]   (default: origin/main)
# Exit codes: 0 up to date and no difference, 1 differences to review, 2 stale render or error.
set -euo pipefail

base_rev=${1:-origin/main}
manifests=${MANIFESTS:-manifests}
rendered=${RENDERED:-rendered}
profile=${PROFILE:-layer-profile.yaml}

# A stale committed render fails the build: regenerate it with the command check prints.
# The inputs and flags come from the tree's .layer-render.json, written by the render.
if ! layer-render check "$rendered"; then
  exit 2
fi

workdir=$(mktemp -d)
trap 'git worktree remove --force "$workdir/base" >/dev/null 2>&1 || true; rm -rf "$workdir"' EXIT
git worktree add --quiet "$workdir/base" "$base_rev"
base_profile_args=()
[ -f "$workdir/base/$profile" ] && base_profile_args=(--profile "$workdir/base/$profile")
layer-render --out "$workdir/base-rendered" "$workdir/base/$manifests" "${base_profile_args[@]}"

set +e
layer-render diff "$workdir/base-rendered" "$rendered" --format markdown \
  --full-diff layer-render-diff.txt > layer-render-diff.md
code=$?
set -e
[ "$code" -gt 1 ] && exit 2
echo "diff written to layer-render-diff.md, the full diff to layer-render-diff.txt (exit $code)"
exit "$code"
