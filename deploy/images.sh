#!/usr/bin/env bash
# Builds the images of the reference deployment (./compose.yaml) without a registry:
#
#   moat-deploy/python-base:1   a debootstrap bookworm root filesystem (minbase + python3) from
#                               the Debian mirror (MOAT_DEBIAN_MIRROR, default
#                               http://deb.debian.org/debian; ../scripts/debian-rootfs.sh, as
#                               for the scan fixture), imported as one layer
#   ${API_IMAGE}                ./api/Dockerfile on that base: the stand-in orders API
#                               (default moat-deploy/api:1)
#   ${MOAT_IMAGE}               ./moat/build.sh: the static moat binary FROM scratch
#                               (default moat:<crate version>)
#
#   deploy/images.sh
#
# The root filesystem is built once and cached as rootfs.tar in MOAT_DEPLOY_CACHE (default
# ${CARGO_TARGET_DIR:-target}/deploy-images; delete it to start over from a newer bookworm);
# the base image is imported again only when the engine lacks it or holds another rootfs.
# Concurrent runs wait for each other (flock). debootstrap runs as root (through sudo when the
# script is not run as root); `apt-get install debootstrap` provides it (.ci/deps/scan.sh).
set -euo pipefail

BASE=moat-deploy/python-base:1
LABEL=moat.deploy

started=$(date +%s)
say() { printf 'images [%ss]: %s\n' "$(($(date +%s) - started))" "$*" >&2; }
die() {
  say "error: $*"
  exit 1
}

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$repo/Cargo.toml" | head -1)
API_IMAGE=${API_IMAGE:-moat-deploy/api:1}
MOAT_IMAGE=${MOAT_IMAGE:-moat:${version:-dev}}
outdir=${MOAT_DEPLOY_CACHE:-${CARGO_TARGET_DIR:-$repo/target}/deploy-images}
mkdir -p "$outdir" || die "cannot create $outdir"
outdir=$(cd "$outdir" && pwd)

as_root=()
[ "$(id -u)" -eq 0 ] || as_root=(sudo)

command -v docker >/dev/null 2>&1 || die "no docker CLI on PATH"
docker info >/dev/null 2>&1 || die "the Docker engine does not answer (docker info failed)"

exec 9>"$outdir/.lock"
flock -w 1800 9 || die "another run holds $outdir/.lock"

image_id() { docker image inspect -f '{{.Id}}' "$1" 2>/dev/null || true; }

# 1. The root filesystem: minbase and python3 (the API needs http.server, json and urllib).
if [ ! -s "$outdir/rootfs.tar" ]; then
  "$repo/scripts/debian-rootfs.sh" "$outdir/rootfs.new" "$outdir/rootfs.tar" \
    "$outdir/debootstrap.log" --include=python3 || die "could not build the root filesystem"
  "${as_root[@]}" rm -rf --one-file-system "$outdir/rootfs.new"
  (cd "$outdir" && sha256sum rootfs.tar >rootfs.tar.sha256)
fi
if [ ! -f "$outdir/rootfs.tar.sha256" ]; then
  (cd "$outdir" && sha256sum rootfs.tar >rootfs.tar.sha256)
fi
rootfs_sum=$(cut -d' ' -f1 "$outdir/rootfs.tar.sha256")

# 2. The base image: the rootfs as one layer, imported again only when it changed.
if [ -n "$(image_id "$BASE")" ] \
  && [ "$(docker image inspect -f "{{index .Config.Labels \"$LABEL.rootfs\"}}" "$BASE")" = "$rootfs_sum" ]; then
  say "$BASE already holds rootfs.tar"
else
  say "docker import rootfs.tar $BASE"
  docker import \
    --change "LABEL $LABEL=1 $LABEL.rootfs=$rootfs_sum" \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["python3"]' \
    "$outdir/rootfs.tar" "$BASE" >/dev/null || die "docker import failed"
fi

# 3. The API image (the legacy builder: the base is local, nothing is pulled).
ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
cp "$repo/deploy/api/Dockerfile" "$repo/examples/gateway/stand-in-api.py" "$ctx/"
say "docker build $API_IMAGE"
if ! out=$(DOCKER_BUILDKIT=0 docker build --force-rm --label "$LABEL=1" -t "$API_IMAGE" "$ctx" 2>&1); then
  printf '%s\n' "$out" >&2
  die "docker build $API_IMAGE failed"
fi

# 4. moat's own image: the static binary (cargo, cached in CARGO_TARGET_DIR) FROM scratch.
say "deploy/moat/build.sh $MOAT_IMAGE"
"$repo/deploy/moat/build.sh" "$MOAT_IMAGE" >/dev/null || die "deploy/moat/build.sh failed"
say "built $BASE, $API_IMAGE, $MOAT_IMAGE"
