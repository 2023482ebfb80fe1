#!/usr/bin/env bash
# Makes the secrets ./compose.yaml reads (never committed), then starts the stack:
# a throw-away certificate (use your CA's or ACME's), one demo API key, a Redis password.
set -euo pipefail
cd "$(dirname "$0")"
mkdir -p secrets
umask 077
if [ ! -f secrets/api.key ]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
    -subj "/CN=api.example.test" -addext "subjectAltName=DNS:api.example.test,DNS:localhost" \
    -keyout secrets/api.key -out secrets/api.pem 2>/dev/null
fi
[ -f secrets/api-keys.txt ] || echo "demo:$(openssl rand -hex 24)" > secrets/api-keys.txt
if [ ! -f secrets/redis_password.txt ]; then
  openssl rand -hex 32 > secrets/redis_password.txt
  printf 'requirepass %s\nsave ""\nappendonly no\nprotected-mode yes\n' \
    "$(cat secrets/redis_password.txt)" > secrets/redis.conf
fi
if [ "${1:-}" != "--secrets-only" ]; then
  docker compose up -d
fi
