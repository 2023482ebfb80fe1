#!/usr/bin/env bash
# Tools the moat_gateway tests and bench use as real peers. Sourced by .ci/run; idempotent:
# each tool is installed only when missing.
_moat_gw_apt=()
command -v curl >/dev/null 2>&1 || _moat_gw_apt+=(curl)
command -v openssl >/dev/null 2>&1 || _moat_gw_apt+=(openssl)
command -v prometheus >/dev/null 2>&1 || _moat_gw_apt+=(prometheus)
# the shared rate-limit store's tests start their own redis-server processes (and a Cluster)
command -v redis-server >/dev/null 2>&1 || _moat_gw_apt+=(redis-server)
command -v redis-cli >/dev/null 2>&1 || _moat_gw_apt+=(redis-tools)
# load while the config and certificate are replaced (crates/moat/tests/gateway_reload.rs)
command -v wrk >/dev/null 2>&1 || _moat_gw_apt+=(wrk)
if [ ${#_moat_gw_apt[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${_moat_gw_apt[@]}" >/dev/null
fi
unset _moat_gw_apt
# the distribution's own instance is not used: tests start theirs on free ports
if command -v systemctl >/dev/null 2>&1; then
  systemctl disable --now redis-server >/dev/null 2>&1 || true
fi
if command -v redis-server >/dev/null 2>&1; then
  export MOAT_REQUIRE_REDIS=1
fi
if ! command -v sslyze >/dev/null 2>&1; then
  pip install --quiet sslyze >/dev/null 2>&1 || python3 -m pip install --quiet sslyze
  command -v pyenv >/dev/null 2>&1 && pyenv rehash >/dev/null 2>&1 || true
fi
# JWT tests mint their tokens with another implementation: PyJWT on `cryptography`
if ! python3 -c 'import jwt, cryptography' >/dev/null 2>&1; then
  pip install --quiet pyjwt cryptography >/dev/null 2>&1 \
    || python3 -m pip install --quiet pyjwt cryptography
fi
if python3 -c 'import jwt, cryptography' >/dev/null 2>&1; then
  export MOAT_REQUIRE_PYJWT=1
fi
# WebSocket tests run a real client and server: Python's `websockets` (sync API, 13.0 or later)
if ! python3 -c 'import websockets.sync.client, websockets.sync.server' >/dev/null 2>&1; then
  pip install --quiet websockets >/dev/null 2>&1 \
    || python3 -m pip install --quiet websockets
fi
if python3 -c 'import websockets.sync.client, websockets.sync.server' >/dev/null 2>&1; then
  export MOAT_REQUIRE_WEBSOCKETS=1
fi
