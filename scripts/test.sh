#!/usr/bin/env bash
# The whole test suite: installs what the tests need (idempotent), then formatting, lints and
# every test of the workspace. Usage: scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."

# Tools the tests use as real peers; each deps script installs only what is missing.
for deps in .ci/deps/*.sh; do
  [ -e "$deps" ] || continue
  # shellcheck source=/dev/null
  . "$deps"
done

cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings
cargo test --workspace
