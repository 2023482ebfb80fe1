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
RUSTFLAGS="-C target-feature=+crt-static" \
  cargo build --profile "$profile" --locked -p moat --target x86_64-unknown-linux-gnu
context=$(mktemp -d)
trap 'rm -rf "$context"' EXIT
cp deploy/moat/Dockerfile "$context/"
cp "$target_dir/x86_64-unknown-linux-gnu/$profile/moat" "$context/moat"
docker build -q -t "$tag" "$context" >/dev/null
echo "$tag"
