#!/usr/bin/env bash
# Memory per idle TLS keep-alive connection: moat gateway vs NGINX, same machine, same run.
#
#   bench/gateway-idle-tls.sh [N]          (default: 5000 connections per measurement)
#
# Both servers run side by side with the same certificate (P-256), TLS 1.2 and 1.3, a trivial
# upstream (nginx `return 200`), and idle timeouts far longer than the measurement: NGINX with
# `worker_processes 1` (so one process holds every connection, as moat's does) and
# `keepalive_timeout 600s`; moat with `idle_timeout = "600s"`. For each server in turn, a Python
# client opens N HTTPS connections (ALPN http/1.1) and holds them open, idle:
#   request     each connection makes one keep-alive GET (answer read), then stays idle;
#   handshake   each connection completes the TLS handshake only, no request.
# Each measurement starts a fresh server process (memory freed by one measurement is not
# always given back to the system). RSS (VmRSS from /proc) is read after one request, then
# once the server's fd count shows all N connections, plus SETTLE seconds (default 3; moat
# parks connections idle for 1 s); KB per connection = RSS growth / N. For NGINX the worker's
# growth is the per-connection figure; the total over master + worker is printed too.
# Set SKIP_HANDSHAKE=1 to measure the `request` variant only, MOAT_BIN=PATH to measure a
# moat-gateway binary built elsewhere (say, an older commit) instead of building this tree.
# Needs: nginx, openssl, python3 (installed from Debian when missing), cargo.
set -euo pipefail
N="${1:-5000}"
SETTLE="${SETTLE:-3}"
cd "$(dirname "$0")/.."
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt $((N + 200)) ]; then
  echo "ulimit -n is $(ulimit -n): too low for $N connections" >&2
  exit 1
fi

# shellcheck source=bench/gateway-setup.sh
. bench/gateway-setup.sh
gw_install nginx:nginx-light openssl:openssl
if [ -n "${MOAT_BIN:-}" ]; then MOAT="$MOAT_BIN"; else gw_build moat-gateway; fi
gw_workdir idle-tls
UP=$(free_port); NG=$(free_port); MO=$(free_port); ADM=$(free_port)
gw_cert
gw_upstream_conf "$UP"
gw_nginx_proxy_conf "$NG" "$UP"
# long keep-alive on the NGINX side, room for every connection
sed -i -e 's/^  keepalive_requests 1000000;/&\n  keepalive_timeout 600s;/' \
  -e "s/worker_connections 16384;/worker_connections $((N + 1000));/" "$WORK/ng-px/nginx.conf"
gw_moat_conf "$WORK/moat.toml" "$MO" "$ADM" "$UP" "$WORK/moat-$MO.log"
sed -i 's/^max_connections = 0$/&\nidle_timeout = "600s"/' "$WORK/moat.toml"
grep -q 'keepalive_timeout 600s' "$WORK/ng-px/nginx.conf" && grep -q 'idle_timeout' "$WORK/moat.toml"

"$NGINX" -c "$WORK/ng-up/nginx.conf" -g 'daemon off;' & PIDS+=($!)

# start_server NAME — a fresh NGINX proxy or moat process (freed memory is not always given
# back to the system, so each measurement starts from a new process), answering one request;
# sets SRV_PID (the process holding the connections) and SRV_ALL (all its processes)
start_server() {
  local port
  if [ "$1" = nginx ]; then
    "$NGINX" -c "$WORK/ng-px/nginx.conf" -g 'daemon off;' & PIDS+=($!); SRV_ALL=$!; port=$NG
  else
    "$MOAT" --config "$WORK/moat.toml" 2>"$WORK/moat.err" & PIDS+=($!); SRV_ALL=$!; port=$MO
  fi
  for _ in $(seq 1 50); do
    curl -sk -o /dev/null --http1.1 "https://127.0.0.1:$port/" 2>/dev/null && break; sleep 0.2
  done
  curl -sk -o /dev/null --http1.1 "https://127.0.0.1:$port/" \
    || { echo "$1 did not start" >&2; cat "$WORK"/*.err "$WORK"/ng-*/error.log >&2; exit 1; }
  SRV_PID=$SRV_ALL
  if [ "$1" = nginx ]; then SRV_PID=$(pgrep -P "$SRV_ALL" | head -1); SRV_ALL="$SRV_ALL $SRV_PID"; fi
  SRV_PORT=$port
}
# shellcheck disable=SC2086  # SRV_ALL is a list of process ids
stop_server() { kill $SRV_ALL 2>/dev/null || true; for p in $SRV_ALL; do wait "$p" 2>/dev/null || true; done; }

rss_of() { awk '/VmRSS/{print $2}' "/proc/$1/status"; }
fds() { find "/proc/$1/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }

cat > "$WORK/hold.py" <<'EOF'
# hold.py PORT N MODE: opens N TLS connections (ALPN http/1.1); MODE request: one keep-alive
# GET each (answer read), handshake: TLS handshake only. Prints "opened K", then holds them
# until killed.
import socket, ssl, sys, time
port, n, mode = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
ctx.set_alpn_protocols(["http/1.1"])
conns = []
for i in range(n):
    try:
        s = socket.create_connection(("127.0.0.1", port))
        t = ctx.wrap_socket(s, server_hostname="localhost")
        if mode == "request":
            t.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
            got = b""
            while b"\r\n\r\n" not in got or not got.endswith(b"ok\n"):
                chunk = t.recv(4096)
                if not chunk:
                    raise OSError("closed by the server")
                got += chunk
        conns.append(t)
    except OSError as e:
        print(f"connection {i}: {e}", file=sys.stderr)
        break
print(f"opened {len(conns)}", flush=True)
time.sleep(3600)
EOF

# measure NAME MODE — a fresh server, N connections; prints one line, sets KBC (KB per connection)
measure() {
  local name=$1 mode=$2 pid port base_fd before after hold n total0=0 total1=0 p
  start_server "$name"; pid=$SRV_PID; port=$SRV_PORT
  sleep 1
  base_fd=$(fds "$pid"); before=$(rss_of "$pid")
  for p in $SRV_ALL; do total0=$((total0 + $(rss_of "$p"))); done
  python3 "$WORK/hold.py" "$port" "$N" "$mode" >"$WORK/hold.out" 2>&1 & hold=$!
  for _ in $(seq 1 300); do
    n=$(( $(fds "$pid") - base_fd )); [ "$n" -ge "$N" ] && break
    kill -0 "$hold" 2>/dev/null || break
    sleep 1
  done
  sleep "$SETTLE"
  n=$(( $(fds "$pid") - base_fd )); after=$(rss_of "$pid")
  for p in $SRV_ALL; do total1=$((total1 + $(rss_of "$p"))); done
  kill "$hold" 2>/dev/null || true; wait "$hold" 2>/dev/null || true
  stop_server
  KBC=$(awk -v a="$before" -v b="$after" -v n="$N" 'BEGIN{printf "%.1f", (b-a)/n}')
  printf '%-6s %-9s %6s conns (%s)  RSS %7s -> %7s kB  %6s KB/conn' \
    "$name" "$mode" "$n" "$(head -1 "$WORK/hold.out")" "$before" "$after" "$KBC"
  if [ "$name" = nginx ]; then
    printf '  (master+worker %s -> %s kB)' "$total0" "$total1"
  fi
  echo
}

echo "# idle TLS keep-alive memory: $N connections per measurement, $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "# $(nproc) CPUs, $(uname -r), nginx $("$NGINX" -v 2>&1 | sed 's/.*\///'), $(openssl version | cut -d' ' -f1-2), load average $(cut -d' ' -f1 /proc/loadavg)"
MODES="request"; [ "${SKIP_HANDSHAKE:-0}" = 1 ] || MODES="request handshake"
for mode in $MODES; do
  measure nginx "$mode"; ng=$KBC
  measure moat "$mode"; mo=$KBC
  awk -v m="$mo" -v n="$ng" -v mode="$mode" 'BEGIN{printf "%s: moat/nginx %.2f\n", mode, (n > 0 ? m/n : 0)}'
done
