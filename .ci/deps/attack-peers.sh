#!/usr/bin/env bash
# Real upstreams for the gateway's attack corpus (crates/moat_gateway/tests/e2e/attacks.rs and
# real_upstreams.rs): Python's http.server (python3), gunicorn running a WSGI app, and NGINX.
# Sourced by scripts/test.sh and .ci/run; idempotent: each is installed only when missing.
_moat_attack_apt=()
[ -x /usr/sbin/nginx ] || command -v nginx >/dev/null 2>&1 || _moat_attack_apt+=(nginx-light)
command -v python3 >/dev/null 2>&1 || _moat_attack_apt+=(python3 python3-pip)
if [ ${#_moat_attack_apt[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${_moat_attack_apt[@]}" >/dev/null
fi
unset _moat_attack_apt
if ! command -v gunicorn >/dev/null 2>&1; then
  pip install --quiet gunicorn >/dev/null 2>&1 || python3 -m pip install --quiet gunicorn
  if command -v pyenv >/dev/null 2>&1; then
    pyenv rehash >/dev/null 2>&1 || true
  fi
fi
