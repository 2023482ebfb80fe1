#!/usr/bin/env bash
# User-space instructions per proxied request, moat gateway vs NGINX, counted by valgrind's
# callgrind. Unlike req/s, the count does not depend on what else the machine is doing, so
# small differences show (kernel work — TCP, context switches — is not counted; it is the same
# kind of work for both, and `bench/gateway-vs-nginx.sh` measures it with the rest).
#
#   bench/gateway-instructions.sh [SECONDS]      (default 10; CONNS=16 connections)
#
# Same shape as bench/gateway-vs-nginx.sh: a trivial upstream (nginx `return 200`, not
# counted), then NGINX as a TLS reverse proxy (limit_req not binding, JSON access log, upstream
# keep-alive) and moat (TLS, one rate limit not binding, JSON access log), each run under
# callgrind while `wrk` sends HTTPS keep-alive requests. Totals include start-up and the TLS
# handshakes, the same for both. Needs valgrind, nginx, wrk, openssl, python3, cargo.
set -euo pipefail
SECS="${1:-10}"
CONNS="${CONNS:-16}"
cd "$(dirname "$0")/.."

need=()
command -v valgrind >/dev/null 2>&1 || need+=(valgrind)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need+=(nginx-light)
command -v wrk >/dev/null 2>&1 || need+=(wrk)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
if [ ${#need[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
NGINX="$(command -v nginx || echo /usr/sbin/nginx)"

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/cache/moat-target}"
cargo build -q --release -p moat_gateway --example moat-gateway
MOAT="$CARGO_TARGET_DIR/release/examples/moat-gateway"

WORK="$(mktemp -d /tmp/moat-instr.XXXXXX)"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
UP=$(free_port); NG=$(free_port); MO=$(free_port); ADM=$(free_port)

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
  -subj "/CN=localhost" -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
  -keyout "$WORK/key.pem" -out "$WORK/cert.pem" 2>/dev/null

mkdir -p "$WORK/ng-up" "$WORK/ng-px"
cat > "$WORK/ng-up/nginx.conf" <<EOF
worker_processes 1;
pid $WORK/ng-up/nginx.pid;
error_log $WORK/ng-up/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  server { listen 127.0.0.1:$UP; location / { return 200 "ok\n"; } }
}
EOF
# one process (no master), so callgrind sees the worker's work
cat > "$WORK/ng-px/nginx.conf" <<EOF
worker_processes 1;
master_process off;
pid $WORK/ng-px/nginx.pid;
error_log $WORK/ng-px/error.log warn;
events { worker_connections 4096; }
http {
  log_format json escape=json '{"@timestamp":"\$time_iso8601","client.ip":"\$remote_addr","http.request.method":"\$request_method","url.path":"\$uri","http.response.status_code":\$status,"event.duration":\$request_time,"upstream.address":"\$upstream_addr","upstream.duration":"\$upstream_response_time","trace.id":"\$request_id"}';
  access_log $WORK/ng-px/access.log json;
  limit_req_zone \$binary_remote_addr zone=perip:10m rate=1000000r/s;
  upstream api { server 127.0.0.1:$UP; keepalive 64; }
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:$NG ssl http2;
    ssl_certificate $WORK/cert.pem;
    ssl_certificate_key $WORK/key.pem;
    ssl_protocols TLSv1.2 TLSv1.3;
    server_tokens off;
    location / {
      limit_req zone=perip burst=1000000 nodelay;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header X-Forwarded-For \$remote_addr;
      proxy_set_header X-Request-Id \$request_id;
      proxy_pass http://api;
    }
  }
}
EOF
cat > "$WORK/moat.toml" <<EOF
[[listener]]
listen = "127.0.0.1:$MO"
[[listener.tls.certificates]]
cert_file = "$WORK/cert.pem"
key_file = "$WORK/key.pem"
[admin]
listen = "127.0.0.1:$ADM"
[limits]
max_connections_per_ip = 0
max_connections = 0
[[rate_limit]]
name = "not-binding"
key = "ip"
rate = "1000000/s"
[upstream.api]
targets = ["127.0.0.1:$UP"]
[[route]]
name = "all"
upstream = "api"
rate_limits = ["not-binding"]
[access_log]
target = "$WORK/moat.log"
EOF

"$NGINX" -c "$WORK/ng-up/nginx.conf" -g 'daemon off;' & PIDS+=($!)

wait_up() { # url: valgrind starts slowly
  for _ in $(seq 1 120); do curl -sk -o /dev/null "$1" && return 0; sleep 0.5; done
  echo "server at $1 did not start" >&2; exit 1
}
total_ir() { callgrind_annotate "$1" 2>/dev/null | awk '/PROGRAM TOTALS/{gsub(",","",$1); print $1}'; }

# moat
valgrind --tool=callgrind --callgrind-out-file="$WORK/moat.cg" "$MOAT" --config "$WORK/moat.toml" \
  2>"$WORK/moat.err" & VM=$!; PIDS+=($VM)
wait_up "https://localhost:$MO/"
wrk -t1 -c"$CONNS" -d"${SECS}s" "https://localhost:$MO/" >/dev/null
M_REQ=$(curl -s "http://127.0.0.1:$ADM/metrics" | awk '/^moat_gateway_requests_total/{s+=$2} END{print s+0}')
kill -INT "$VM"; wait "$VM" 2>/dev/null || true
M_IR=$(total_ir "$WORK/moat.cg")

# nginx
valgrind --tool=callgrind --callgrind-out-file="$WORK/nginx.cg" "$NGINX" -c "$WORK/ng-px/nginx.conf" \
  -g 'daemon off;' 2>"$WORK/nginx.err" & VN=$!; PIDS+=($VN)
wait_up "https://localhost:$NG/"
wrk -t1 -c"$CONNS" -d"${SECS}s" "https://localhost:$NG/" >/dev/null
kill -QUIT "$VN"; wait "$VN" 2>/dev/null || true
N_REQ=$(wc -l < "$WORK/ng-px/access.log")
N_IR=$(total_ir "$WORK/nginx.cg")

echo "# user-space instructions per request (callgrind), ${SECS}s of wrk -c$CONNS over HTTPS keep-alive"
awk -v mi="$M_IR" -v mr="$M_REQ" -v ni="$N_IR" -v nr="$N_REQ" 'BEGIN{
  printf "moat   %8d requests %14d instructions %7.0f per request\n", mr, mi, mi/mr
  printf "nginx  %8d requests %14d instructions %7.0f per request\n", nr, ni, ni/nr
  printf "ratio moat/nginx (per request): %.3f\n", (mi/mr)/(ni/nr) }'
