#!/usr/bin/env bash
# Tools the `moat scan` tests use (crates/moat/tests/scan*.rs, scripts/scan-fixture.sh):
# debootstrap, to build a real Debian bookworm root filesystem offline from the apt mirror (the
# reference deployment's API base, deploy/images.sh, is built the same way);
# skopeo, to repack the `docker save` tarball as an OCI layout and an oci-archive; and Go, whose
# toolchain builds the binary the Go-module analyzer test reads (that test is required, not
# skipped, once MOAT_REQUIRE_GO=1 is exported below).
# Sourced by scripts/test.sh; idempotent: each package is installed only when missing. Runs as
# root, or through sudo otherwise.
_moat_scan_apt=()
command -v debootstrap >/dev/null 2>&1 || [ -x /usr/sbin/debootstrap ] \
  || _moat_scan_apt+=(debootstrap)
command -v skopeo >/dev/null 2>&1 || _moat_scan_apt+=(skopeo)
command -v go >/dev/null 2>&1 || [ -x /usr/lib/go/bin/go ] || _moat_scan_apt+=(golang-go)
if [ ${#_moat_scan_apt[@]} -gt 0 ]; then
  _moat_scan_sudo=()
  [ "$(id -u)" -eq 0 ] || _moat_scan_sudo=(sudo)
  "${_moat_scan_sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  "${_moat_scan_sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends "${_moat_scan_apt[@]}" >/dev/null
  unset _moat_scan_sudo
fi
unset _moat_scan_apt
# golang-go puts `go` in /usr/bin; an older install may only have /usr/lib/go/bin
if ! command -v go >/dev/null 2>&1 && [ -x /usr/lib/go/bin/go ]; then
  export PATH="$PATH:/usr/lib/go/bin"
fi
if command -v go >/dev/null 2>&1; then
  export MOAT_REQUIRE_GO=1
fi
