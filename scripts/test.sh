#!/usr/bin/env bash
# The project's test command (CI runs it through .ci/run): install the third-party checkers,
# then format check, clippy and every test. Stops at the first failing step.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

# Rust tests find helm, kubectl, kubernetes-validate, checkov, the node models and the Python
# YAML readers here.
export LAYER_TOOLS_DIR="${LAYER_TOOLS_DIR:-$ROOT/.tools}"

TOTAL_START=$SECONDS

step() {
    local name=$1
    shift
    echo "==> $name: $*"
    local start=$SECONDS
    if ! "$@"; then
        echo "==> $name FAILED after $((SECONDS - start))s" >&2
        # Tests that fail in a row for no reason of their own are often a full disk.
        free_space >&2
        exit 1
    fi
    echo "==> $name ok in $((SECONDS - start))s"
}

# Free space where the build and the tests write: a fresh run needs about 5 GB (README).
free_space() {
    df -h "$ROOT" "${TMPDIR:-/tmp}" | sed 's/^/==> disk: /'
}

free_space
step tools scripts/tools.sh
step fmt cargo fmt --all -- --check
step clippy cargo clippy --workspace --all-targets -- -D warnings
step test cargo test --workspace

echo "==> all steps ok in $((SECONDS - TOTAL_START))s"
