#!/usr/bin/env bash
# Tools the tests against a real Docker engine use (crates/moat_engine/tests/live.rs,
# crates/moat/tests/engine.rs): a static busybox, from which the tests build their image with
# `docker import` (no registry needed), and Compose v1 for the compose-started containers.
# Sourced by scripts/test.sh; idempotent: each package is installed only when missing.
_moat_engine_apt=()
# the static build: Debian's `busybox` package also installs /bin/busybox, linked dynamically
dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q 'ok installed' \
  || _moat_engine_apt+=(busybox-static)
command -v docker-compose >/dev/null 2>&1 || _moat_engine_apt+=(docker-compose)
if [ ${#_moat_engine_apt[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${_moat_engine_apt[@]}" >/dev/null
fi
unset _moat_engine_apt
