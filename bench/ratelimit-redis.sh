#!/usr/bin/env bash
# moat gateway: rate-limit decisions against Redis (store = "redis") vs in memory, same run,
# interleaved rounds, one gateway and two replicas.
#
#   bench/ratelimit-redis.sh [ROUNDS] [SECONDS]      (defaults: 3 rounds of 10 s per target)
#   CONNS=64 RATE=2000 REDIS_CPU=0 bench/ratelimit-redis.sh 5 10
#
# Targets (all on 127.0.0.1, ports chosen free at start; every gateway as in gateway-vs-nginx.sh:
# TLS, JSON access log to a file, auth off, in front of the trivial nginx upstream):
#   nolimit    no rate limit on the route (the baseline: what a decision costs is the difference)
#   memory     one limit keyed by ip at 1000000/s (never binds: every request is one decision
#              that admits), store = "memory"
#   redis      the same limit with store = "redis" on a redis-server started here (own folder,
#              no persistence, stopped on exit); one Lua script (EVALSHA) per request
#   memory-x2  two gateway processes, each with its own in-memory limit, the load split over both
#   redis-x2   two gateway processes sharing the Redis limit (the same key: every decision of
#              both replicas lands on one Redis key), the load split over both
# Throughput (decisions per second): wrk -t1 over HTTPS keep-alive, CONNS connections (default 64;
# for the x2 targets two wrk processes with CONNS/2 each, one per replica, summed). Latency:
# the `fixed-rate` example (open-loop, keep-alive, microsecond timings, no coordinated omission)
# at RATE req/s (default 2000) with 20 connections; for x2, RATE/2 with 10 connections on each
# replica at once, and the worse replica's p50 and p99 are shown. "gw us/req" = user+sys CPU of
# the gateway process(es) per request during the wrk run; "redis us/req" = redis-server's;
# "all us/req" = gateways + upstream + redis-server, the whole server side. On a busy machine
# the CPU per request moves far less than the throughput does, so the ratio of the all-us/req
# figures (the throughput the server CPU would give) is printed beside the measured one.
# Medians over the rounds; the redis/memory throughput ratio is given of the medians and as
# the median of the per-round ratios.
#
# Pinning (2 CPUs, taskset): the gateways, the upstream and redis-server on CPU 0, wrk and
# fixed-rate on CPU 1. Redis shares CPU 0 with the gateways on purpose: the load generators
# keep their CPU to themselves, and all the server-side work of a request (gateway, upstream,
# Redis) is charged to the same CPU, so the throughput ratio includes Redis's own CPU — a
# pessimistic figure next to a Redis on another host. REDIS_CPU=1 puts it with the load instead.
# At the end: each Redis-backed gateway's moat_gateway_limit_store_calls_total (ok must have
# grown by every decision; error, timeout and short_circuited must stay 0) and redis-server's
# own EVALSHA count.
# Needs: nginx, wrk, redis-server, redis-cli, openssl, python3, curl, cargo.
set -euo pipefail
ROUNDS="${1:-3}"
SECS="${2:-10}"
CONNS="${CONNS:-64}"
RATE="${RATE:-2000}"
REDIS_CPU="${REDIS_CPU:-0}"
cd "$(dirname "$0")/.."
ulimit -n 65536 2>/dev/null || true

# shellcheck source=bench/gateway-setup.sh
. bench/gateway-setup.sh
# shellcheck source=bench/gateway-measure.sh
. bench/gateway-measure.sh
gw_install nginx:nginx-light wrk:wrk openssl:openssl redis-server:redis-server redis-cli:redis-tools curl:curl
gm_need nginx wrk openssl redis-server redis-cli curl python3 cargo
gw_build moat-gateway fixed-rate
gw_workdir ratelimit-redis
gw_pinning
REDIS_PIN=""; [ -n "$SRV_CPU" ] && REDIS_PIN="taskset -c $REDIS_CPU"
gw_cert
UP=$(free_port); RP=$(free_port)
gw_upstream_conf "$UP"
$SRV_CPU "$NGINX" -c "$WORK/ng-up/nginx.conf" -g 'daemon off;' & PIDS+=($!); UP_PID=$!
gm_redis "$RP"
REDIS_URL="redis://127.0.0.1:$RP"

# gateway NAME [options for gm_moat_conf] — starts one; sets PORT[NAME], ADMIN[NAME], PID[NAME]
declare -A PORT ADMIN PID
gateway() {
  local name=$1; shift
  PORT[$name]=$(free_port); ADMIN[$name]=$(free_port)
  gm_moat_conf "$WORK/$name.toml" "${PORT[$name]}" "${ADMIN[$name]}" "$UP" "$WORK/$name.log" "$@"
  $SRV_CPU "$MOAT" --config "$WORK/$name.toml" 2>"$WORK/$name.err" & PIDS+=($!); PID[$name]=$!
}
gateway nolimit store=none
gateway memory store=memory
gateway redis store=redis redis="$REDIS_URL"
gateway mem-a store=memory
gateway mem-b store=memory
gateway red-a store=redis redis="$REDIS_URL" replicas=2
gateway red-b store=redis redis="$REDIS_URL" replicas=2
wait_up "http://127.0.0.1:$UP/" upstream
for g in "${!PORT[@]}"; do wait_up "https://localhost:${PORT[$g]}/" "gateway $g"; done
# the first decision of a Redis-backed gateway opens its connection: check it went through Redis
for g in redis red-a red-b; do
  [ "$(metric "${ADMIN[$g]}" 'moat_gateway_limit_store_calls_total{result="ok"}')" -ge 1 ] \
    || { echo "gateway $g made no Redis decision: $(store_calls "${ADMIN[$g]}")" >&2; exit 1; }
done
declare -A CALLS0
for g in redis red-a red-b; do CALLS0[$g]=$(store_calls "${ADMIN[$g]}"); done
EVAL0=$(redis-cli -p "$RP" info commandstats | awk -F'[=,:]' '/^cmdstat_evalsha:/{print $3}')

# the targets: gateways (space-separated) each gets its share of the load
declare -A GWS=([nolimit]=nolimit [memory]=memory [redis]=redis [memory-x2]="mem-a mem-b" [redis-x2]="red-a red-b")
TARGETS=(nolimit memory redis memory-x2 redis-x2)
declare -A RPS WP99 LP50 LP99 GCPU RCPU SCPU ERR
ERR_TOTAL=0

run_one() { # target
  local t=$1 gws pids=() jobs=() g n c0 r0 u0 c1 r1 u1 reqs rps p99 lat p50 l99 e
  read -r -a gws <<<"${GWS[$t]}"
  n=${#gws[@]}
  for g in "${gws[@]}"; do pids+=("${PID[$g]}"); done
  wait_quiet
  c0=$(cpu_ticks "${pids[@]}"); r0=$(cpu_ticks "$REDIS_PID"); u0=$(cpu_ticks "$UP_PID")
  for g in "${gws[@]}"; do
    $LOAD_CPU wrk -t1 -c$((CONNS / n)) -d"${SECS}s" --latency "https://localhost:${PORT[$g]}/" > "$WORK/wrk-$g.txt" & jobs+=($!)
  done
  wait "${jobs[@]}"; jobs=()
  c1=$(cpu_ticks "${pids[@]}"); r1=$(cpu_ticks "$REDIS_PID"); u1=$(cpu_ticks "$UP_PID")
  reqs=0; rps=0; p99=0; e=0
  for g in "${gws[@]}"; do
    reqs=$((reqs + $(awk '/requests in/{print $1}' "$WORK/wrk-$g.txt")))
    rps=$(awk -v a="$rps" -v b="$(awk '/Requests\/sec/{print $2}' "$WORK/wrk-$g.txt")" 'BEGIN{printf "%.2f", a+b}')
    p99=$(awk -v a="$p99" -v b="$(awk '$1=="99%"{print $2}' "$WORK/wrk-$g.txt" | to_ms)" 'BEGIN{print (b>a)?b:a}')
    e=$((e + $(awk '/Non-2xx/{s+=$NF} /Socket errors/{gsub(/[^0-9 ]/," "); s+=$1+$2+$3+$4} END{print s+0}' "$WORK/wrk-$g.txt")))
  done
  add RPS "$t" "$rps"; add WP99 "$t" "$p99"
  add GCPU "$t" "$(awk -v a="$c0" -v b="$c1" -v hz="$HZ" -v n="$reqs" 'BEGIN{printf "%.2f", (b-a)/hz*1e6/n}')"
  add RCPU "$t" "$(awk -v a="$r0" -v b="$r1" -v hz="$HZ" -v n="$reqs" 'BEGIN{printf "%.2f", (b-a)/hz*1e6/n}')"
  add SCPU "$t" "$(awk -v a="$((c0 + r0 + u0))" -v b="$((c1 + r1 + u1))" -v hz="$HZ" -v n="$reqs" 'BEGIN{printf "%.2f", (b-a)/hz*1e6/n}')"
  wait_quiet
  p50=0; l99=0
  for g in "${gws[@]}"; do
    $LOAD_CPU "$FIXED" --rate $((RATE / n)) --conns $((20 / n)) --secs "$SECS" "https://localhost:${PORT[$g]}/" > "$WORK/fixed-$g.txt" 2>&1 & jobs+=($!)
  done
  wait "${jobs[@]}" || true
  for g in "${gws[@]}"; do
    lat=$(grep '^requests' "$WORK/fixed-$g.txt" || true)
    [ -n "$lat" ] || { echo "  fixed-rate on $g failed: $(head -c 300 "$WORK/fixed-$g.txt")"; e=$((e + 1)); continue; }
    p50=$(awk -v a="$p50" -v b="$(field p50 "$lat" | to_ms)" 'BEGIN{print (b>a)?b:a}')
    l99=$(awk -v a="$l99" -v b="$(field p99 "$lat" | to_ms)" 'BEGIN{print (b>a)?b:a}')
    e=$((e + $(field errors "$lat")))
  done
  add LP50 "$t" "$p50"; add LP99 "$t" "$l99"
  ERR[$t]=$(( ${ERR[$t]:-0} + e )); ERR_TOTAL=$((ERR_TOTAL + e))
  echo "  $t: $rps req/s, fixed-rate p50 ${p50} ms p99 ${l99} ms"
}

echo "# rate-limit store: $ROUNDS rounds x ${SECS}s, wrk $CONNS connections, fixed rate $RATE req/s (20 connections); HTTPS"
echo "# $(nproc) CPUs, $(uname -r), $(redis-server --version | awk '{print $3}'), pinning: servers ${SRV_CPU:-none}, redis-server ${REDIS_PIN:-none}, load ${LOAD_CPU:-none}"
echo "# load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq 1 "$ROUNDS"); do
  echo "round $r"
  for t in "${TARGETS[@]}"; do run_one "$t"; done
done

echo
printf '%-10s %11s %9s %9s %9s %10s %12s %10s %7s\n' target "req/s" "wrk-p99" "fix-p50" "fix-p99" "gw-us/req" "redis-us/req" "all-us/req" errors
for t in "${TARGETS[@]}"; do
  printf '%-10s %11s %9s %9s %9s %10s %12s %10s %7s\n' "$t" "$(median <<<"${RPS[$t]}")" \
    "$(median <<<"${WP99[$t]}")ms" "$(median <<<"${LP50[$t]}")ms" "$(median <<<"${LP99[$t]}")ms" \
    "$(median <<<"${GCPU[$t]}")" "$(median <<<"${RCPU[$t]}")" "$(median <<<"${SCPU[$t]}")" "${ERR[$t]:-0}"
done
per_round() { # A B: the per-round throughput ratios A/B
  paste -d' ' <(tr ' ' '\n' <<<"${RPS[$1]}" | sed '/^$/d') <(tr ' ' '\n' <<<"${RPS[$2]}" | sed '/^$/d') \
    | awk '{printf "%.3f ", $1/$2}'
}
verdict() { awk -v v="$1" -v t="$2" -v op="$3" 'BEGIN{ok = (op == ">=") ? v >= t : v <= t; print ok ? "met" : "NOT met"}'; }
for pair in "redis memory 1" "redis-x2 memory-x2 2"; do
  read -r a b n <<<"$pair"
  rr=$(per_round "$a" "$b"); pr=$(median <<<"$rr")
  ratio=$(awk -v x="$(median <<<"${RPS[$a]}")" -v y="$(median <<<"${RPS[$b]}")" 'BEGIN{printf "%.3f", x/y}')
  d50=$(awk -v x="$(median <<<"${LP50[$a]}")" -v y="$(median <<<"${LP50[$b]}")" 'BEGIN{printf "%.3f", x-y}')
  d99=$(awk -v x="$(median <<<"${LP99[$a]}")" -v y="$(median <<<"${LP99[$b]}")" 'BEGIN{printf "%.3f", x-y}')
  cpu=$(awk -v x="$(median <<<"${SCPU[$a]}")" -v y="$(median <<<"${SCPU[$b]}")" 'BEGIN{printf "%.3f", y/x}')
  echo "$n replica(s): $a/$b throughput $ratio (median of rounds $pr: ${rr% }) — target >= 0.5 $(verdict "$pr" 0.5 '>='); from CPU per request $cpu;" \
    "added p50 $d50 ms, added p99 $d99 ms at $RATE req/s — target <= 0.3 ms $(verdict "$d99" 0.3 '<=')"
done
awk -v nl="$(median <<<"${GCPU[nolimit]}")" -v m="$(median <<<"${GCPU[memory]}")" -v r="$(median <<<"${GCPU[redis]}")" \
  -v rr="$(median <<<"${RCPU[redis]}")" 'BEGIN{
  printf "decision cost (CPU per request over nolimit): memory %.2f us; redis %.2f us in the gateway + %.2f us in redis-server = %.2f us\n", m-nl, r-nl, rr, r-nl+rr }'
EVAL1=$(redis-cli -p "$RP" info commandstats | awk -F'[=,:]' '/^cmdstat_evalsha:/{print $3}')
for g in redis red-a red-b; do
  echo "store calls, gateway $g: start ${CALLS0[$g]} -> end $(store_calls "${ADMIN[$g]}"); requests served $(served "${ADMIN[$g]}")"
done
echo "redis-server: EVALSHA calls $((EVAL1 - ${EVAL0:-0})) during the run, keys $(redis-cli -p "$RP" dbsize), used memory $(redis-cli -p "$RP" info memory | awk -F: '/^used_memory_human/{print $2}' | tr -d '\r'), RSS $(rss_kb "$REDIS_PID") kB"
echo "errors (wrk non-2xx and socket errors, fixed-rate errors): $ERR_TOTAL"
echo "# load average at end: $(cut -d' ' -f1-3 /proc/loadavg); measurements taken on a busy machine: $BUSY_NOTES of $CHECKS"
