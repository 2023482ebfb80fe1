#!/usr/bin/env bash
# moat audit vs compose-lint (PyPI) on the shared compose corpus, in one run on the same files:
# wall time of each (median of interleaved repeats), the ratio, what each reports, and a table
# of the checks each tool has, aligned by the CIS Docker Benchmark ids each one cites.
#
#   bench/compose-vs-compose-lint.sh [CORPUS_DIR]
#
# REPEAT (default 7) sets the number of timed rounds; raw outputs go to $OUT.
set -euo pipefail
cd "$(dirname "$0")/.."
corpus="${1:-../shared/corpus/compose}"
export OUT="${OUT:-${TMPDIR:-/tmp}/moat-bench}"
mkdir -p "$OUT"

if ! command -v compose-lint >/dev/null 2>&1; then
  python3 -m pip install --quiet compose-lint
fi
export COMPOSE_LINT="${COMPOSE_LINT:-$(command -v compose-lint)}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/cache/moat-target}"
cargo build --release --quiet -p moat
export MOAT="$CARGO_TARGET_DIR/release/moat"
exec python3 bench/compose_vs_compose_lint.py "$corpus"
