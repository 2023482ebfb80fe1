#!/usr/bin/env bash
# A Debian bookworm root filesystem for an image, from the Debian mirror (MOAT_DEBIAN_MIRROR,
# default http://deb.debian.org/debian), shared by scripts/scan-fixture.sh and deploy/images.sh:
#
#   scripts/debian-rootfs.sh TREE TAR LOG [DEBOOTSTRAP-OPTION...]   e.g. --include=python3
#
# `debootstrap --variant=minbase [OPTIONS] bookworm TREE`, then what a container gets from the
# engine at run time or what only concerns the build host is taken out: /dev, /proc and /sys
# emptied, apt's lists, caches and downloaded .debs, /etc/hostname and /etc/resolv.conf
# removed. TAR is the tree tarred with numeric owners (written whole or not at all); TREE stays,
# owned by root, for the caller to keep or remove. debootstrap's output goes to LOG. Runs as
# root, through sudo otherwise. The caller serialises runs (scan-fixture.sh and images.sh hold a
# flock on their folder).
set -euo pipefail

SUITE=bookworm
MIRROR=${MOAT_DEBIAN_MIRROR:-http://deb.debian.org/debian}

started=$(date +%s)
say() { printf 'debian-rootfs [%ss]: %s\n' "$(($(date +%s) - started))" "$*" >&2; }
die() {
  say "error: $*"
  exit 1
}

[ $# -ge 3 ] || {
  echo "usage: $0 TREE TAR LOG [DEBOOTSTRAP-OPTION...]" >&2
  exit 2
}
tree=$1
tar=$2
log=$3
shift 3

as_root=()
[ "$(id -u)" -eq 0 ] || as_root=(sudo)
debootstrap=$(command -v debootstrap || { [ -x /usr/sbin/debootstrap ] && echo /usr/sbin/debootstrap; } || true)
[ -n "$debootstrap" ] \
  || die "debootstrap is not installed (source .ci/deps/scan.sh, or apt-get install debootstrap)"

# debootstrap mounts proc, sys and maybe dev in the tree, and unmounts them unless it fails
unmount_tree() {
  local m
  for m in dev/pts dev/shm dev proc sys; do
    if mountpoint -q "$tree/$m" 2>/dev/null; then
      "${as_root[@]}" umount -l "$tree/$m" || true
    fi
  done
  if grep -q " $tree/" /proc/mounts; then
    die "something is still mounted under $tree"
  fi
}
undo_tree() {
  unmount_tree
  "${as_root[@]}" rm -rf --one-file-system "$tree" "$tar.new"
}
undo_tree
trap 'undo_tree' EXIT
say "debootstrap --variant=minbase${*:+ $*} $SUITE from $MIRROR (log: $log)"
if ! "${as_root[@]}" "$debootstrap" --variant=minbase "$@" "$SUITE" "$tree" "$MIRROR" \
  >"$log" 2>&1; then
  tail -n 20 "$log" >&2 || true
  die "debootstrap failed (see $log)"
fi
unmount_tree
"${as_root[@]}" find "$tree/dev" "$tree/proc" "$tree/sys" -xdev -mindepth 1 -delete
"${as_root[@]}" rm -rf "$tree/etc/hostname" "$tree/etc/resolv.conf" "$tree/var/cache/apt/"*.bin \
  "$tree/var/cache/apt/archives/"*.deb
"${as_root[@]}" find "$tree/var/lib/apt/lists" -mindepth 1 -maxdepth 1 -type f -delete
"${as_root[@]}" tar --numeric-owner --sort=name --xattrs -C "$tree" -cf - . >"$tar.new" \
  || die "could not tar $tree"
mv "$tar.new" "$tar"
trap - EXIT
say "wrote $tar ($(du -h "$tar" | cut -f1))"
