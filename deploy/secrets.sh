#!/usr/bin/env bash
# Makes the Docker secrets ./compose.yaml reads, in DIR (default ./secrets; never committed).
# Files that exist are kept, so running it again changes nothing.
#
#   deploy/secrets.sh [DIR]
#
#   ca.pem               a throw-away CA, for clients (`curl --cacert`); its key is deleted once
#                        it has signed the gateway's certificate (use your CA or ACME instead)
#   gateway.pem/.key     the gateway's certificate (localhost, 127.0.0.1, api.example.test)
#   api-keys.txt         the gateway's API keys, hashed (`demo:sha256:HEX`)
#   demo-api-key.txt     the demo client's key in clear, for you: not given to any container
#   redis_password.txt   the Redis password (the `replicas` profile), and redis.conf with it
#
# The files are 0444 (as Docker's own secrets are, inside the container) in a 0700 directory:
# compose 1.29 bind-mounts each file into the container, where the service's non-root user must
# read it, while on the host only root gets through the directory.
set -euo pipefail
dir=${1:-$(dirname "$0")/secrets}
mkdir -p "$dir"
chmod 0700 "$dir"
cd "$dir"
umask 077

if [ ! -s gateway.key ] || [ ! -s gateway.pem ] || [ ! -s ca.pem ]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
    -subj "/CN=moat reference deployment CA" -keyout ca.key -out ca.pem 2>/dev/null
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -subj "/CN=api.example.test" -keyout gateway.key -out gateway.csr 2>/dev/null
  printf '%s\n' 'subjectAltName=DNS:api.example.test,DNS:localhost,IP:127.0.0.1' \
    'basicConstraints=CA:FALSE' 'keyUsage=digitalSignature' 'extendedKeyUsage=serverAuth' \
    >gateway.ext
  openssl x509 -req -in gateway.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 30 \
    -extfile gateway.ext -out gateway.pem 2>/dev/null
  rm -f ca.key ca.srl gateway.csr gateway.ext
fi
if [ ! -s api-keys.txt ] || [ ! -s demo-api-key.txt ]; then
  key=$(openssl rand -hex 24)
  printf '%s\n' "$key" >demo-api-key.txt
  printf '# id:sha256:HEX, HEX = sha256 of the key\ndemo:sha256:%s\n' \
    "$(printf '%s' "$key" | sha256sum | cut -d' ' -f1)" >api-keys.txt
fi
if [ ! -s redis_password.txt ] || [ ! -s redis.conf ]; then
  openssl rand -hex 32 >redis_password.txt
  # no persistence: limits and bans are short-lived
  printf 'requirepass %s\nsave ""\nappendonly no\nprotected-mode yes\n' \
    "$(cat redis_password.txt)" >redis.conf
fi
chmod 0444 ca.pem gateway.pem gateway.key api-keys.txt redis_password.txt redis.conf
chmod 0400 demo-api-key.txt
