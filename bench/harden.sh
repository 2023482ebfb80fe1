#!/usr/bin/env bash
# moat harden vs `compose-lint fix` and `compose-harden fix` (both from PyPI) on the shared
# compose corpus. Each tool fixes fresh copies of the files in a scratch folder (the corpus is
# only read); then, for each tool: findings before and after by moat's audit, by compose-lint's
# check and by compose-harden's scan, files that parsed before and no longer parse (PyYAML
# safe_load, and `docker-compose config -q` when docker-compose is installed), files changed,
# wall time of the fixing step, and whether a second run on its own output changes anything.
#
#   bench/harden.sh [CORPUS_DIR]
#
# REPEAT (default 5) sets the number of timed rounds; the peers go into a virtualenv at
# $VENV (default under $CARGO_TARGET_DIR); fixed files and diffs are left in $OUT/harden.
set -euo pipefail
cd "$(dirname "$0")/.."
corpus="${1:-../shared/corpus/compose}"
export OUT="${OUT:-${TMPDIR:-/tmp}/moat-bench}"
mkdir -p "$OUT"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/cache/moat-target}"

venv="${VENV:-$CARGO_TARGET_DIR/bench-venv}"
if [ ! -x "$venv/bin/compose-lint" ] || [ ! -x "$venv/bin/compose-harden" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet 'compose-lint==0.36.*' 'compose-harden==0.2.0' pyyaml
fi
export COMPOSE_LINT="$venv/bin/compose-lint"
export COMPOSE_HARDEN="$venv/bin/compose-harden"
export DOCKER_COMPOSE="${DOCKER_COMPOSE:-$(command -v docker-compose || true)}"

cargo build --release --quiet -p moat
export MOAT="$CARGO_TARGET_DIR/release/moat"
exec "$venv/bin/python" bench/harden.py "$corpus"
