#!/usr/bin/env bash
# moat gateway soak: at least N requests (default 1,000,000) over HTTPS keep-alive through the
# gateway (TLS, one non-binding rate limit, JSON access log to a file, API-key auth off) to a
# trivial nginx upstream, sampling the gateway's RSS and open file descriptors while it runs.
#
#   bench/gateway-soak.sh [REQUESTS] [MAX_SECONDS]     (defaults: 1000000 requests, at most 600 s)
#   WARMUP_CHUNKS=2 CONNS=64 SAMPLE=2 bench/gateway-soak.sh 3000000
#
# Loopback only (127.0.0.1, ports chosen free at start). Load: wrk in 10-second chunks until the
# gateway's own request counter (admin /metrics) reaches REQUESTS or MAX_SECONDS pass. RSS
# (VmRSS from /proc/PID/status) and fds (entries of /proc/PID/fd) are sampled every SAMPLE
# seconds (default 2). Printed: the figures after warm-up (the first WARMUP_CHUNKS chunks,
# default 2: buffers, the upstream pool and the allocator's heap settle), at the end of the
# load, the maximum after warm-up, and after the clients have gone (idle).
# Needs: nginx, wrk, openssl, python3, curl, cargo (the first two installed from Debian when missing).
set -euo pipefail
TARGET="${1:-1000000}"
MAX_SECS="${2:-600}"
CONNS="${CONNS:-64}"
SAMPLE="${SAMPLE:-2}"
WARMUP_CHUNKS="${WARMUP_CHUNKS:-2}"
cd "$(dirname "$0")/.."
ulimit -n 65536 2>/dev/null || true

# shellcheck source=bench/gateway-setup.sh
. bench/gateway-setup.sh
gw_install nginx:nginx-light wrk:wrk openssl:openssl
gw_build moat-gateway
gw_workdir soak
UP=$(free_port); MO=$(free_port); ADM=$(free_port)
gw_pinning
gw_cert
gw_upstream_conf "$UP"
gw_moat_conf "$WORK/moat.toml" "$MO" "$ADM" "$UP" "$WORK/access.log"

$SRV_CPU "$NGINX" -c "$WORK/ng-up/nginx.conf" -g 'daemon off;' & PIDS+=($!)
$SRV_CPU "$MOAT" --config "$WORK/moat.toml" 2>"$WORK/moat.err" & PIDS+=($!); MO_PID=$!
sleep 1.5
curl -sk -o /dev/null "https://127.0.0.1:$MO/" || { echo "gateway did not start" >&2; cat "$WORK/moat.err" >&2; exit 1; }

rss_kb() { awk '/^VmRSS/{print $2}' "/proc/$1/status"; }
fds() { ls "/proc/$1/fd" 2>/dev/null | wc -l; }
served() { curl -s "http://127.0.0.1:$ADM/metrics" | awk '/^moat_gateway_requests_total/{s+=$2} END{printf "%d", s}'; }

echo "# gateway soak: >= $TARGET requests over HTTPS keep-alive, $CONNS connections, at most ${MAX_SECS}s"
echo "# $(nproc) CPUs, $(uname -r), pinning: ${SRV_CPU:-none}, load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "start (idle, 1 request served): RSS $(rss_kb "$MO_PID") kB, $(fds "$MO_PID") fds"

# sampler: time, requests served, RSS kB, fds
( while kill -0 "$MO_PID" 2>/dev/null; do
    echo "$(date +%s) $(served) $(rss_kb "$MO_PID") $(fds "$MO_PID")"
    sleep "$SAMPLE"
  done ) > "$WORK/samples.txt" 2>/dev/null &
SAMPLER=$!

START=$(date +%s)
chunk=0; WARM_RSS=""; WARM_FD=""; WARM_N=""
while :; do
  $LOAD_CPU wrk -t1 -c"$CONNS" -d10s "https://localhost:$MO/" > "$WORK/wrk-$chunk.txt"
  chunk=$((chunk + 1))
  n=$(served)
  if [ -z "$WARM_RSS" ] && [ "$chunk" -ge "$WARMUP_CHUNKS" ]; then
    WARM_RSS=$(rss_kb "$MO_PID"); WARM_FD=$(fds "$MO_PID"); WARM_N=$n; WARM_T=$(date +%s)
  fi
  [ "$n" -ge "$TARGET" ] && [ -n "$WARM_RSS" ] && break
  [ $(( $(date +%s) - START )) -ge "$MAX_SECS" ] && { echo "time limit reached"; break; }
done
END_RSS=$(rss_kb "$MO_PID"); END_FD=$(fds "$MO_PID"); END_N=$(served); END_T=$(date +%s)
errors=$(cat "$WORK"/wrk-*.txt | awk '/Non-2xx|Socket errors/' | head -3)
sleep 3
IDLE_RSS=$(rss_kb "$MO_PID"); IDLE_FD=$(fds "$MO_PID")
kill "$SAMPLER" 2>/dev/null || true; wait "$SAMPLER" 2>/dev/null || true

# maximum RSS and fds over the samples taken after warm-up and before the clients left
read -r MAX_RSS MAX_FD MIN_RSS < <(awk -v w="${WARM_T:-$END_T}" -v e="$END_T" '$1>=w && $1<=e {
    if ($3>r) r=$3; if ($4>f) f=$4; if (m=="" || $3<m) m=$3 } END {print r+0, f+0, m+0}' "$WORK/samples.txt")
LINES=$(wc -l < "$WORK/access.log")
echo "after warm-up ($WARM_N requests, first $WARMUP_CHUNKS x 10 s): RSS ${WARM_RSS:-?} kB, ${WARM_FD:-?} fds"
echo "end of load ($END_N requests, $((END_T - START)) s, $(( END_N / (END_T - START > 0 ? END_T - START : 1) )) req/s): RSS $END_RSS kB, $END_FD fds"
echo "after warm-up until the end: RSS min $MIN_RSS kB, max $MAX_RSS kB; fds max $MAX_FD"
echo "idle 3 s after the clients left: RSS $IDLE_RSS kB, $IDLE_FD fds"
echo "RSS growth after warm-up: $(( END_RSS - ${WARM_RSS:-$END_RSS} )) kB; fd growth after warm-up: $(( END_FD - ${WARM_FD:-$END_FD} ))"
echo "access-log lines: $LINES; wrk errors: ${errors:-none}"
echo "samples (unix time, requests served, RSS kB, fds):"
awk 'NR % 5 == 1' "$WORK/samples.txt"
