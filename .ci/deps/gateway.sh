#!/usr/bin/env bash
# Tools the moat_gateway tests and bench use as real peers. Sourced by .ci/run; idempotent:
# each tool is installed only when missing.
_moat_gw_apt=()
command -v curl >/dev/null 2>&1 || _moat_gw_apt+=(curl)
command -v openssl >/dev/null 2>&1 || _moat_gw_apt+=(openssl)
command -v prometheus >/dev/null 2>&1 || _moat_gw_apt+=(prometheus)
if [ ${#_moat_gw_apt[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${_moat_gw_apt[@]}" >/dev/null
fi
unset _moat_gw_apt
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
