#!/usr/bin/env bash
# Makes a throw-away CA and a server certificate for the example (certs/ca.pem, certs/api.pem,
# certs/api.key). For production, use certificates from your CA or ACME client instead.
set -euo pipefail
cd "$(dirname "$0")"
mkdir -p certs
umask 077
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
  -subj "/CN=moat example CA" -keyout certs/ca.key -out certs/ca.pem 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
  -subj "/CN=api.example.test" -keyout certs/api.key -out certs/api.csr 2>/dev/null
printf 'subjectAltName=DNS:api.example.test,DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n' > certs/api.ext
openssl x509 -req -in certs/api.csr -CA certs/ca.pem -CAkey certs/ca.key -CAcreateserial \
  -days 30 -extfile certs/api.ext -out certs/api.pem 2>/dev/null
rm -f certs/api.csr certs/api.ext certs/ca.srl
chmod 600 certs/*.key
echo "wrote certs/ca.pem certs/api.pem certs/api.key"
