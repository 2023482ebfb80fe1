#!/usr/bin/env bash
# Builds moat's image without a registry: a statically linked release binary (glibc,
# `+crt-static`), staged beside the Dockerfile in a temporary build context, then
# `docker build`. Usage: deploy/moat/build.sh [TAG]   (default: moat:<crate version>)
# MOAT_PROFILE picks the cargo profile: `release` (default), or `image` (Cargo.toml: about half
# the cold build time, less optimised; what the reference deployment's test uses).
set -euo pipefail
cd "$(dirname "$0")/../.."
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
tag="${1:-moat:${version:-dev}}"
target_dir="${CARGO_TARGET_DIR:-target}"
profile="${MOAT_PROFILE:-release}"
# RUSTFLAGS applies to the target only (build scripts and proc macros stay dynamic); an
# inherited CARGO_ENCODED_RUSTFLAGS would override it
unset CARGO_ENCODED_RUSTFLAGS
# a cargo started from a test (crates/moat/tests/deploy.rs) inherits the test's CARGO_PKG_* and
# CARGO_MANIFEST_* variables, which build scripts (ring's) watch: without them the build is the
# one a shell makes, and neither invalidates the other's
for var in $(compgen -e); do
  case "$var" in
    CARGO_PKG_* | CARGO_MANIFEST_* | CARGO_CRATE_NAME | CARGO_BIN_NAME | CARGO_PRIMARY_PACKAGE | CARGO_TARGET_TMPDIR | OUT_DIR)
      unset "$var"
      ;;
  esac
done
RUSTFLAGS="-C target-feature=+crt-static" \
  cargo build --profile "$profile" --locked -p moat --target x86_64-unknown-linux-gnu
context=$(mktemp -d)
trap 'rm -rf "$context"' EXIT
cp deploy/moat/Dockerfile "$context/"
binary="$target_dir/x86_64-unknown-linux-gnu/$profile/moat"
# the image needs no debug info (the release profile keeps line tables: 80 of its 103 MB)
if command -v objcopy >/dev/null 2>&1; then
  objcopy --strip-debug "$binary" "$context/moat"
else
  cp "$binary" "$context/moat"
fi
docker build -q -t "$tag" "$context" >/dev/null
echo "$tag"
