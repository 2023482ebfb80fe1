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

# shellcheck source=bench/gateway-setup.sh
. bench/gateway-setup.sh
gw_install valgrind:valgrind nginx:nginx-light wrk:wrk openssl:openssl
gw_build moat-gateway
gw_workdir instr
UP=$(free_port); NG=$(free_port); MO=$(free_port); ADM=$(free_port)
gw_cert
gw_upstream_conf "$UP"
# one process (no master), so callgrind sees the worker's work
gw_nginx_proxy_conf "$NG" "$UP" "master_process off;"
gw_moat_conf "$WORK/moat.toml" "$MO" "$ADM" "$UP" "$WORK/moat.log"

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
