#!/bin/sh
# Deploys the orders API without compose: the hardened twin of ../insecure-api/deploy.sh.
# (With compose: run the secrets part, then `docker compose up -d`.)
# Secrets are generated once into a directory only root can enter (and that git ignores), and
# mounted read-only as files; the container reads them through `*_FILE` variables. It joins
# an internal network and publishes nothing: the gateway in compose.yaml is the only way in.
set -eu
cd "$(dirname "$0")"

umask 077
mkdir -p secrets
chmod 0700 secrets
[ -s secrets/db_password.txt ] || openssl rand -base64 32 > secrets/db_password.txt
if [ ! -s secrets/redis_password.txt ]; then
  openssl rand -hex 32 > secrets/redis_password.txt
  printf 'requirepass %s\nprotected-mode yes\nsave ""\n' "$(cat secrets/redis_password.txt)" > secrets/redis.conf
fi
# the containers run as their own non-root uids (remapped by userns-remap) and read the files
# through bind mounts: the files are world-readable, the directory above them is not
chmod 0644 secrets/*

docker build -t registry.example.com/orders/api:1.4.2 .
docker network inspect orders-backend >/dev/null 2>&1 \
  || docker network create --internal orders-backend
docker rm -f orders-api 2>/dev/null || true
docker run -d --name orders-api \
  --network orders-backend \
  --user 10001:10001 \
  --cap-drop ALL \
  --security-opt no-new-privileges:true \
  --read-only \
  --tmpfs /tmp:rw,noexec,nosuid,size=16m \
  --memory 256m --cpus 1.0 --pids-limit 128 \
  --restart on-failure:3 \
  --health-cmd "python3 -c \"import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8080/healthz').status != 200)\"" \
  --health-interval 30s --health-timeout 3s --health-retries 3 \
  --mount type=volume,source=orders-data,target=/data \
  --mount type=bind,source="$PWD/secrets/db_password.txt",target=/run/secrets/db_password,readonly \
  -e DATABASE_PASSWORD_FILE=/run/secrets/db_password \
  registry.example.com/orders/api:1.4.2
