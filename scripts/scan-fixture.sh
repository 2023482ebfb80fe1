#!/usr/bin/env bash
# A real Debian image for the `moat scan` end-to-end tests and benchmark, built once and cached.
#
#   scripts/scan-fixture.sh [OUTDIR]          build (or reuse) everything below
#   scripts/scan-fixture.sh --clean [OUTDIR]  remove the fixture's images from the engine
#
# OUTDIR defaults to ${CARGO_TARGET_DIR:-target}/scan-fixture. What it holds:
#
#   rootfs.tar               `debootstrap --variant=minbase bookworm` from the Debian mirror
#                            (MOAT_DEBIAN_MIRROR, default http://deb.debian.org/debian; made by
#                            scripts/debian-rootfs.sh), tarred
#                            with numeric owners; /dev, /proc and /sys empty, apt's lists,
#                            caches and downloaded .debs, /etc/hostname and /etc/resolv.conf
#                            left out. Built only when
#                            missing: delete it to start over from a newer bookworm.
#   rootfs/                  the same tree, unpacked (for `moat scan --rootfs`). It is owned by
#                            root, as in the image: read it as root; as another user a few files
#                            (/etc/shadow, /etc/gshadow, /root, /var/cache/ldconfig, ...) are
#                            unreadable.
#   debian-base.docker.tar   `docker save` of moat-scan-fixture/debian-base:1, the rootfs.tar
#                            imported as one layer.
#   debian-api.docker.tar    `docker save` of moat-scan-fixture/debian-api:1 (docker-archive),
#                            built from crates/moat/tests/fixtures/scan/debian-api/Dockerfile on
#                            that base: 3 layers (the base; /app with examples/insecure-api/app,
#                            a Cargo.lock of crates with RustSec advisories and a planted
#                            /app/config/.env; the whiteout of /etc/issue.net), and a GitHub token
#                            in the configuration's Env.
#   debian-api.oci/          the same image as an OCI layout (tag 1), gzip layers.
#   debian-api.oci.tar       the same image as an oci-archive (tag 1), zstd layers.
#   stamp                    the key of the inputs (this script, the Dockerfile's folder, the
#                            example app) and the two image ids the archives hold.
#
# A second run with the same inputs only checks the stamp and the engine (well under a second).
# Images removed by --clean are loaded back from the archives, with the same ids. Concurrent
# runs on one OUTDIR wait for each other (flock). Needs the engine, and for a cold build
# debootstrap and skopeo (.ci/deps/scan.sh installs them); debootstrap runs as root, through
# sudo when the script is not run as root.
set -euo pipefail

BASE=moat-scan-fixture/debian-base:1
API=moat-scan-fixture/debian-api:1
LABEL=moat.scan-fixture

started=$(date +%s)
say() { printf 'scan-fixture [%ss]: %s\n' "$(($(date +%s) - started))" "$*" >&2; }
die() {
  say "error: $*"
  exit 1
}
usage() {
  echo "usage: $0 [--clean] [OUTDIR]   (OUTDIR default \${CARGO_TARGET_DIR:-target}/scan-fixture)"
}

clean=0
case "${1:-}" in
  --clean)
    clean=1
    shift
    ;;
  -h | --help)
    usage
    exit 0
    ;;
  -*)
    usage >&2
    exit 2
    ;;
esac
[ $# -le 1 ] || {
  usage >&2
  exit 2
}

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
payload=$repo/crates/moat/tests/fixtures/scan/debian-api
example=$repo/examples/insecure-api/app
target=${CARGO_TARGET_DIR:-$repo/target}
outdir=${1:-$target/scan-fixture}
mkdir -p "$outdir" || die "cannot create $outdir"
outdir=$(cd "$outdir" && pwd)

as_root=()
[ "$(id -u)" -eq 0 ] || as_root=(sudo)

command -v docker >/dev/null 2>&1 || die "no docker CLI on PATH"
docker info >/dev/null 2>&1 || die "the Docker engine does not answer (docker info failed)"

# one run at a time per OUTDIR
exec 9>"$outdir/.lock"
flock -w 1800 9 || die "another run holds $outdir/.lock"

# The id of an image, or nothing when the engine has no such image.
image_id() { docker image inspect -f '{{.Id}}' "$1" 2>/dev/null || true; }

if [ "$clean" -eq 1 ]; then
  for ref in "$API" "$BASE"; do
    if [ -n "$(image_id "$ref")" ]; then
      docker image rm "$ref" >/dev/null || die "could not remove $ref"
      say "removed $ref"
    fi
  done
  # anything else of ours: other tags of the fixture's repositories, or untagged leftovers of an
  # earlier build (all carry the label; parents go with their children)
  docker image ls -a --filter "label=$LABEL" --format '{{.Repository}}:{{.Tag}} {{.ID}}' \
    | while read -r ref id; do
      case "$ref" in
        moat-scan-fixture/*) docker image rm "$ref" >/dev/null 2>&1 && say "removed $ref" ;;
        "<none>:<none>") docker image rm "$id" >/dev/null 2>&1 && say "removed $id" ;;
      esac
    done || true
  exit 0
fi

[ -f "$payload/Dockerfile" ] || die "missing $payload/Dockerfile"
[ -d "$example" ] || die "missing $example"

stamp_get() { sed -n "s/^$1=//p" "$outdir/stamp" 2>/dev/null || true; }

# 1. The Debian root filesystem.
if [ ! -s "$outdir/rootfs.tar" ]; then
  "$repo/scripts/debian-rootfs.sh" "$outdir/rootfs.new" "$outdir/rootfs.tar" \
    "$outdir/debootstrap.log" || die "could not build the root filesystem"
  "${as_root[@]}" rm -rf --one-file-system "$outdir/rootfs"
  "${as_root[@]}" mv "$outdir/rootfs.new" "$outdir/rootfs"
  (cd "$outdir" && sha256sum rootfs.tar >rootfs.tar.sha256)
  rm -f "$outdir/stamp"
  say "wrote rootfs.tar ($(du -h "$outdir/rootfs.tar" | cut -f1)) and rootfs/"
elif [ ! -d "$outdir/rootfs" ]; then
  say "unpacking rootfs.tar into rootfs/"
  "${as_root[@]}" rm -rf --one-file-system "$outdir/rootfs.new"
  mkdir -p "$outdir/rootfs.new"
  "${as_root[@]}" tar --numeric-owner --xattrs -xpf "$outdir/rootfs.tar" -C "$outdir/rootfs.new" \
    || die "could not unpack rootfs.tar"
  "${as_root[@]}" mv "$outdir/rootfs.new" "$outdir/rootfs"
fi
if [ ! -f "$outdir/rootfs.tar.sha256" ]; then
  (cd "$outdir" && sha256sum rootfs.tar >rootfs.tar.sha256)
fi
# The key of the inputs: this script, the Dockerfile's folder, the example app and the rootfs
# (which stays as it is until deleted, whatever the mirror has since published).
key=$(
  cd "$repo"
  {
    sha256sum scripts/scan-fixture.sh
    find crates/moat/tests/fixtures/scan/debian-api examples/insecure-api/app -type f -print0 \
      | LC_ALL=C sort -z | xargs -0 sha256sum
    cat "$outdir/rootfs.tar.sha256"
  } | sha256sum | cut -d' ' -f1
)

outputs=(debian-base.docker.tar debian-api.docker.tar debian-api.oci/index.json debian-api.oci.tar)
cached=1
[ "$(stamp_get key)" = "$key" ] || cached=0
for f in "${outputs[@]}"; do [ -s "$outdir/$f" ] || cached=0; done

if [ "$cached" -eq 1 ]; then
  # 2'. The archives are current: at most the engine has lost the images (--clean).
  restore() { # NAME REF ARCHIVE
    local want
    want=$(stamp_get "$1")
    if [ "$(image_id "$2")" != "$want" ]; then
      say "loading $2 from $3"
      docker load -q -i "$outdir/$3" >/dev/null || die "docker load $3 failed"
      [ "$(image_id "$2")" = "$want" ] || die "$3 does not hold $want"
    fi
  }
  restore base "$BASE" debian-base.docker.tar
  restore api "$API" debian-api.docker.tar
  say "up to date in $outdir"
  exit 0
fi

# 2. The base image: the rootfs as one layer. (No stamp until every output is written again.)
rm -f "$outdir/stamp"
rootfs_sum=$(cut -d' ' -f1 "$outdir/rootfs.tar.sha256")
old_base=$(image_id "$BASE")
old_api=$(image_id "$API")
if [ -n "$old_base" ] \
  && [ "$(docker image inspect -f "{{index .Config.Labels \"$LABEL.rootfs\"}}" "$BASE")" = "$rootfs_sum" ]; then
  say "$BASE already holds rootfs.tar (sha256 $rootfs_sum)"
else
  say "docker import rootfs.tar $BASE"
  docker import \
    --change "LABEL $LABEL=1 $LABEL.rootfs=$rootfs_sum" \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["/bin/bash"]' \
    "$outdir/rootfs.tar" "$BASE" >/dev/null || die "docker import failed"
fi

# 3. The API image, with the legacy builder (no buildx here; the base is local, nothing pulled).
rm -rf "$outdir"/context.*
ctx=$(mktemp -d "$outdir/context.XXXXXX")
trap 'rm -rf "$ctx"' EXIT
mkdir -p "$ctx/app/config"
cp -R "$example/." "$ctx/app/"
cp "$payload/worker.Cargo.toml" "$ctx/app/Cargo.toml"
cp "$payload/worker.Cargo.lock" "$ctx/app/Cargo.lock"
cp "$payload/app.env" "$ctx/app/config/.env"
cp "$payload/Dockerfile" "$ctx/Dockerfile"
say "docker build $API"
if ! DOCKER_BUILDKIT=0 docker build --force-rm --label "$LABEL.key=$key" -t "$API" "$ctx" \
  >"$outdir/build.log" 2>&1; then
  cat "$outdir/build.log" >&2
  die "docker build failed"
fi
rm -rf "$ctx"
trap - EXIT
# what an earlier build left untagged
for old in "$old_api" "$old_base"; do
  if [ -n "$old" ] && [ "$old" != "$(image_id "$API")" ] && [ "$old" != "$(image_id "$BASE")" ]; then
    docker image rm "$old" >/dev/null 2>&1 || say "note: could not remove the earlier image $old"
  fi
done

# 4. The archives.
say "docker save $BASE, $API"
docker save -o "$outdir/debian-base.docker.tar.new" "$BASE" || die "docker save $BASE failed"
docker save -o "$outdir/debian-api.docker.tar.new" "$API" || die "docker save $API failed"
mv "$outdir/debian-base.docker.tar.new" "$outdir/debian-base.docker.tar"
mv "$outdir/debian-api.docker.tar.new" "$outdir/debian-api.docker.tar"
chmod a+r "$outdir/debian-base.docker.tar" "$outdir/debian-api.docker.tar"
command -v skopeo >/dev/null 2>&1 \
  || die "skopeo is not installed (source .ci/deps/scan.sh, or apt-get install skopeo)"
say "skopeo copy to an OCI layout (gzip) and an oci-archive (zstd)"
rm -rf "$outdir/debian-api.oci" "$outdir/debian-api.oci.new" "$outdir/debian-api.oci.tar" \
  "$outdir/debian-api.oci.tar.new"
skopeo --insecure-policy copy --quiet \
  "docker-archive:$outdir/debian-api.docker.tar" "oci:$outdir/debian-api.oci.new:1" \
  || die "skopeo copy to the OCI layout failed"
mv "$outdir/debian-api.oci.new" "$outdir/debian-api.oci"
skopeo --insecure-policy copy --quiet --dest-compress-format zstd \
  "docker-archive:$outdir/debian-api.docker.tar" "oci-archive:$outdir/debian-api.oci.tar.new:1" \
  || die "skopeo copy to the oci-archive failed"
mv "$outdir/debian-api.oci.tar.new" "$outdir/debian-api.oci.tar"

printf 'key=%s\nbase=%s\napi=%s\n' "$key" "$(image_id "$BASE")" "$(image_id "$API")" \
  >"$outdir/stamp"
layers=$(docker image inspect -f '{{len .RootFS.Layers}}' "$API")
say "built $API ($layers layers, $(du -h "$outdir/debian-api.docker.tar" | cut -f1)) in $outdir"
