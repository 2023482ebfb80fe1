#!/usr/bin/env bash
# moat gateway soak with two replicas sharing a Redis rate limit: at least N requests (default
# 1,000,000) over HTTPS keep-alive, the load split over both gateways, sampling each replica's
# RSS and open file descriptors and redis-server's RSS while it runs.
#
#   bench/gateway-soak-redis.sh [REQUESTS] [MAX_SECONDS]   (defaults: 1000000 requests, at most 600 s)
#   WARMUP_CHUNKS=2 CONNS=64 SAMPLE=2 REDIS_CPU=0 bench/gateway-soak-redis.sh 3000000
#
# Loopback only (127.0.0.1, ports chosen free at start). Two gateway processes (replicas a and
# b) with the config of gateway-soak.sh (TLS, JSON access log to a file, auth off) whose one
# rate limit (keyed by ip, 1000000/s: never binds, so every request is one decision that admits)
# has store = "redis" on a redis-server started here (own folder, no persistence, stopped on
# exit); both replicas decide on the same Redis key. Load: two wrk processes at once, CONNS/2
# connections each (default 64 in all), one per replica, in 10-second chunks until the two
# gateways' request counters (admin /metrics) add up to REQUESTS or MAX_SECONDS pass. RSS (VmRSS)
# and fds (/proc/PID/fd) are sampled every SAMPLE seconds (default 2). Printed per replica: the
# figures after warm-up (the first WARMUP_CHUNKS chunks, default 2), at the end of the load,
# min/max in between, and 3 s after the clients left; redis-server's RSS likewise; the store
# calls by result (ok must equal the decisions; error/timeout/short_circuited 0).
# Pinning as in ratelimit-redis.sh: gateways, upstream and redis-server on CPU 0 (REDIS_CPU=1
# moves redis-server to the load's CPU), wrk on CPU 1.
# Needs: nginx, wrk, redis-server, redis-cli, openssl, python3, curl, cargo.
set -euo pipefail
TARGET="${1:-1000000}"
MAX_SECS="${2:-600}"
CONNS="${CONNS:-64}"
SAMPLE="${SAMPLE:-2}"
WARMUP_CHUNKS="${WARMUP_CHUNKS:-2}"
REDIS_CPU="${REDIS_CPU:-0}"
cd "$(dirname "$0")/.."
ulimit -n 65536 2>/dev/null || true

# shellcheck source=bench/gateway-setup.sh
. bench/gateway-setup.sh
# shellcheck source=bench/gateway-measure.sh
. bench/gateway-measure.sh
gw_install nginx:nginx-light wrk:wrk openssl:openssl redis-server:redis-server redis-cli:redis-tools curl:curl
gm_need nginx wrk openssl redis-server redis-cli curl python3 cargo
gw_build moat-gateway
gw_workdir soak-redis
gw_pinning
REDIS_PIN=""; [ -n "$SRV_CPU" ] && REDIS_PIN="taskset -c $REDIS_CPU"
gw_cert
UP=$(free_port); RP=$(free_port)
gw_upstream_conf "$UP"
$SRV_CPU "$NGINX" -c "$WORK/ng-up/nginx.conf" -g 'daemon off;' & PIDS+=($!)
gm_redis "$RP"

declare -A PORT ADMIN PID
for g in a b; do
  PORT[$g]=$(free_port); ADMIN[$g]=$(free_port)
  gm_moat_conf "$WORK/$g.toml" "${PORT[$g]}" "${ADMIN[$g]}" "$UP" "$WORK/access-$g.log" \
    store=redis redis="redis://127.0.0.1:$RP" replicas=2
  $SRV_CPU "$MOAT" --config "$WORK/$g.toml" 2>"$WORK/$g.err" & PIDS+=($!); PID[$g]=$!
done
wait_up "http://127.0.0.1:$UP/" upstream
for g in a b; do wait_up "https://localhost:${PORT[$g]}/" "gateway $g"; done
served_all() { echo $(( $(served "${ADMIN[a]}") + $(served "${ADMIN[b]}") )); }

echo "# gateway soak, two replicas sharing a Redis limit: >= $TARGET requests over HTTPS keep-alive, $CONNS connections ($((CONNS / 2)) per replica), at most ${MAX_SECS}s"
echo "# $(nproc) CPUs, $(uname -r), $(redis-server --version | awk '{print $3}'), pinning: servers ${SRV_CPU:-none}, redis-server ${REDIS_PIN:-none}, load ${LOAD_CPU:-none}, load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "start (idle, 1 request each): a RSS $(rss_kb "${PID[a]}") kB, $(fds "${PID[a]}") fds; b RSS $(rss_kb "${PID[b]}") kB, $(fds "${PID[b]}") fds; redis-server RSS $(rss_kb "$REDIS_PID") kB"

# sampler: time, requests served (a+b), RSS a, fds a, RSS b, fds b, RSS redis
( while kill -0 "${PID[a]}" 2>/dev/null && kill -0 "${PID[b]}" 2>/dev/null; do
    echo "$(date +%s) $(served_all) $(rss_kb "${PID[a]}") $(fds "${PID[a]}") $(rss_kb "${PID[b]}") $(fds "${PID[b]}") $(rss_kb "$REDIS_PID")"
    sleep "$SAMPLE"
  done ) > "$WORK/samples.txt" 2>/dev/null &
SAMPLER=$!
snapshot() { echo "$(rss_kb "${PID[a]}") $(fds "${PID[a]}") $(rss_kb "${PID[b]}") $(fds "${PID[b]}") $(rss_kb "$REDIS_PID")"; }

START=$(date +%s)
chunk=0; WARM=""; WARM_N=""; WARM_T=""
while :; do
  jobs=()
  for g in a b; do
    $LOAD_CPU wrk -t1 -c$((CONNS / 2)) -d10s "https://localhost:${PORT[$g]}/" > "$WORK/wrk-$chunk-$g.txt" & jobs+=($!)
  done
  wait "${jobs[@]}"
  chunk=$((chunk + 1))
  n=$(served_all)
  if [ -z "$WARM" ] && [ "$chunk" -ge "$WARMUP_CHUNKS" ]; then
    WARM=$(snapshot); WARM_N=$n; WARM_T=$(date +%s)
  fi
  [ "$n" -ge "$TARGET" ] && [ -n "$WARM" ] && break
  [ $(( $(date +%s) - START )) -ge "$MAX_SECS" ] && { echo "time limit reached"; break; }
done
END=$(snapshot); END_N=$(served_all); END_T=$(date +%s)
N_A=$(served "${ADMIN[a]}"); N_B=$(served "${ADMIN[b]}")
errors=$(cat "$WORK"/wrk-*.txt | awk '/Non-2xx/{s+=$NF} /Socket errors/{gsub(/[^0-9 ]/," "); s+=$1+$2+$3+$4} END{print s+0}')
sleep 3
IDLE=$(snapshot)
kill "$SAMPLER" 2>/dev/null || true; wait "$SAMPLER" 2>/dev/null || true

read -r WRA WFA WRB WFB WRR <<<"$WARM"
read -r ERA EFA ERB EFB ERR_ <<<"$END"
read -r IRA IFA IRB IFB IRR <<<"$IDLE"
# min/max after warm-up and before the clients left, per column of the samples
range() { awk -v w="$WARM_T" -v e="$END_T" -v c="$1" '$1>=w && $1<=e { if (mx=="" || $c>mx) mx=$c; if (mn=="" || $c<mn) mn=$c } END {print mn+0, mx+0}' "$WORK/samples.txt"; }
secs=$(( END_T - START > 0 ? END_T - START : 1 ))
echo "after warm-up ($WARM_N requests, first $WARMUP_CHUNKS x 10 s): a RSS $WRA kB, $WFA fds; b RSS $WRB kB, $WFB fds; redis-server RSS $WRR kB"
echo "end of load ($END_N requests: a $N_A, b $N_B; $secs s, $(( END_N / secs )) req/s): a RSS $ERA kB, $EFA fds; b RSS $ERB kB, $EFB fds; redis-server RSS $ERR_ kB"
echo "after warm-up until the end: a RSS $(range 3 | tr ' ' '-') kB, fds $(range 4 | tr ' ' '-'); b RSS $(range 5 | tr ' ' '-') kB, fds $(range 6 | tr ' ' '-'); redis-server RSS $(range 7 | tr ' ' '-') kB"
echo "idle 3 s after the clients left: a RSS $IRA kB, $IFA fds; b RSS $IRB kB, $IFB fds; redis-server RSS $IRR kB"
echo "growth after warm-up: a RSS $(( ERA - WRA )) kB, fds $(( EFA - WFA )); b RSS $(( ERB - WRB )) kB, fds $(( EFB - WFB )); redis-server RSS $(( ERR_ - WRR )) kB"
for g in a b; do echo "store calls, replica $g: $(store_calls "${ADMIN[$g]}")"; done
echo "redis-server: EVALSHA calls $(redis-cli -p "$RP" info commandstats | awk -F'[=,:]' '/^cmdstat_evalsha:/{print $3}'), keys $(redis-cli -p "$RP" dbsize), used memory $(redis-cli -p "$RP" info memory | awk -F: '/^used_memory_human/{print $2}' | tr -d '\r')"
echo "access-log lines: a $(wc -l < "$WORK/access-a.log"), b $(wc -l < "$WORK/access-b.log"); wrk errors (non-2xx, socket): $errors"
echo "samples (unix time, requests served a+b, RSS a kB, fds a, RSS b kB, fds b, RSS redis kB):"
awk 'NR % 5 == 1' "$WORK/samples.txt"
