# shellcheck shell=bash disable=SC2034,SC2153
# Measuring helpers shared by ratelimit-redis.sh, gateway-jwt.sh and gateway-soak-redis.sh
# (sourced after gateway-setup.sh, which provides WORK, PIDS, MOAT, SRV_CPU and LOAD_CPU):
# per-process CPU, RSS and fds, the machine's busy check, medians, a started-and-answering
# check, a redis-server of the run's own, and moat configs with a choice of limit store and auth.

HZ=$(getconf CLK_TCK)
BUSY_NOTES=0
CHECKS=0

# gm_need CMD... — fail clearly when a tool is still missing after gw_install.
gm_need() {
  local c
  for c in "$@"; do
    command -v "$c" >/dev/null 2>&1 || [ -x "/usr/sbin/$c" ] || { echo "missing tool: $c" >&2; exit 1; }
  done
}

# cpu_ticks PID... — user+sys clock ticks of the processes (and their children).
cpu_ticks() {
  local t=0 p c
  for p in "$@"; do
    for c in "$p" $(pgrep -P "$p" || true); do
      [ -r "/proc/$c/stat" ] && t=$((t + $(awk '{print $14+$15}' "/proc/$c/stat")))
    done
  done
  echo "$t"
}
rss_kb() { awk '/^VmRSS/{print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
fds() { find "/proc/$1/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }

busy_pct() { # CPU busy % of the whole machine over one second
  local a b
  a=$(awk '/^cpu /{print $2+$3+$4+$6+$7+$8, $5}' /proc/stat); sleep 1
  b=$(awk '/^cpu /{print $2+$3+$4+$6+$7+$8, $5}' /proc/stat)
  awk -v a="$a" -v b="$b" 'BEGIN{split(a,x," "); split(b,y," "); u=y[1]-x[1]; i=y[2]-x[2]; printf "%d", (u+i) ? 100*u/(u+i) : 0}'
}
# wait_quiet — before a measurement: wait (up to QUIET_WAIT s, default 10) until other work leaves the machine
# mostly idle; counts the measurements taken while it was not (BUSY_NOTES of CHECKS).
wait_quiet() {
  local p=0
  CHECKS=$((CHECKS + 1))
  for _ in $(seq 1 "${QUIET_WAIT:-10}"); do
    p=$(busy_pct); [ "$p" -lt 25 ] && return 0
  done
  BUSY_NOTES=$((BUSY_NOTES + 1))
  echo "  (machine still ${p}% busy with other work; measuring anyway)"
}

median() { tr ' ' '\n' | sed '/^$/d' | sort -g | awk '{a[NR]=$0} END{if (NR) print a[int((NR+1)/2)]; else print "nan"}'; }
# to_ms — wrk's / fixed-rate's "1.23ms", "456.00us", "1.2s" as milliseconds
to_ms() { awk '{v=$1; if (v ~ /us$/) {sub(/us$/,"",v); v/=1000} else if (v ~ /ms$/) {sub(/ms$/,"",v)} else if (v ~ /s$/) {sub(/s$/,"",v); v*=1000}; printf "%.3f", v}'; }
# add ARRAY KEY VALUE — appends VALUE to the space-separated list ARRAY[KEY]
add() { eval "$1[\$2]=\"\${$1[\$2]:-} $3\""; }
# field NAME TEXT — the word after NAME in fixed-rate's one-line summary
field() { awk -v k="$1" '{for(i=1;i<NF;i++) if($i==k) print $(i+1)}' <<<"$2"; }

# wait_up URL NAME [HEADER] — waits (up to 15 s) until URL answers; fails with the logs otherwise.
wait_up() {
  for _ in $(seq 1 150); do
    if curl -sk -o /dev/null --max-time 1 ${3:+-H "$3"} "$1"; then return 0; fi
    sleep 0.1
  done
  echo "$2 did not start ($1)" >&2
  cat "$WORK"/*.err >&2 2>/dev/null || true
  exit 1
}

# gm_redis PORT — a redis-server of this run on 127.0.0.1:PORT (own folder, no persistence),
# pinned with REDIS_PIN; sets REDIS_PID.
gm_redis() {
  mkdir -p "$WORK/redis"
  $REDIS_PIN redis-server --bind 127.0.0.1 --port "$1" --dir "$WORK/redis" --save '' \
    --appendonly no --daemonize no --protected-mode yes --logfile "$WORK/redis/redis.log" \
    --databases 1 & PIDS+=($!); REDIS_PID=$!
  for _ in $(seq 1 100); do
    [ "$(redis-cli -p "$1" ping 2>/dev/null)" = PONG ] && return 0
    sleep 0.1
  done
  echo "redis-server did not start on port $1" >&2; cat "$WORK/redis/redis.log" >&2; exit 1
}

# gm_moat_conf FILE PORT ADMIN_PORT UPSTREAM_PORT LOG [key=value...] — a moat gateway config
# like gw_moat_conf (TLS, JSON access log to LOG, one rate limit "not-binding" keyed by ip at
# 1000000/s) with options:
#   store=memory|redis|none   where the limit lives (none: no rate limit on the route)
#   redis=URL replicas=N      the [redis] section (with store=redis)
#   auth=none|api_key|jwt     the route's auth; keys=FILE ([api_keys]); jwt_key=FILE ([jwt],
#                             public_key_file, issuer https://bench.example, audience bench)
gm_moat_conf() {
  local file=$1 port=$2 admin=$3 up=$4 log=$5 kv store=memory redis="" replicas=1 auth=none keys="" jwt_key=""
  shift 5
  for kv in "$@"; do
    case "$kv" in
      store=*) store=${kv#*=} ;; redis=*) redis=${kv#*=} ;; replicas=*) replicas=${kv#*=} ;;
      auth=*) auth=${kv#*=} ;; keys=*) keys=${kv#*=} ;; jwt_key=*) jwt_key=${kv#*=} ;;
      *) echo "gm_moat_conf: unknown option $kv" >&2; exit 2 ;;
    esac
  done
  {
    cat <<EOF
[[listener]]
listen = "127.0.0.1:$port"
[[listener.tls.certificates]]
cert_file = "$WORK/cert.pem"
key_file = "$WORK/key.pem"
[admin]
listen = "127.0.0.1:$admin"
[limits]
max_connections_per_ip = 0
max_connections = 0
EOF
    if [ -n "$keys" ]; then printf '[api_keys]\nfile = "%s"\n' "$keys"; fi
    if [ -n "$jwt_key" ]; then
      printf '[jwt]\npublic_key_file = "%s"\nissuers = ["https://bench.example"]\naudiences = ["bench"]\n' "$jwt_key"
    fi
    if [ -n "$redis" ]; then printf '[redis]\nurls = ["%s"]\nreplicas = %s\n' "$redis" "$replicas"; fi
    if [ "$store" != none ]; then
      printf '[[rate_limit]]\nname = "not-binding"\nkey = "ip"\nrate = "1000000/s"\nstore = "%s"\n' "$store"
    fi
    cat <<EOF
[upstream.api]
targets = ["127.0.0.1:$up"]
[[route]]
name = "all"
upstream = "api"
auth = "$auth"
EOF
    if [ "$store" != none ]; then echo 'rate_limits = ["not-binding"]'; else echo 'rate_limits = []'; fi
    printf '[access_log]\ntarget = "%s"\n' "$log"
  } > "$file"
}

# metric ADMIN_PORT NAME_AND_LABELS — the value of one series on a gateway's /metrics (0 if absent)
metric() {
  curl -s "http://127.0.0.1:$1/metrics" | awk -v s="$2" 'index($0, s" ")==1 {print $2; f=1} END{if (!f) print 0}'
}
# served ADMIN_PORT — requests the gateway has answered
served() { curl -s "http://127.0.0.1:$1/metrics" | awk '/^moat_gateway_requests_total/{s+=$2} END{printf "%d", s}'; }
# store_calls ADMIN_PORT — "ok=N error=N timeout=N short_circuited=N fallbacks=N"
store_calls() {
  curl -s "http://127.0.0.1:$1/metrics" | awk '
    /^moat_gateway_limit_store_calls_total/ { r=$1; sub(/.*result="/,"",r); sub(/".*/,"",r); v[r]=$2 }
    /^moat_gateway_rate_limit_fallbacks_total/ { fb+=$2 }
    END { printf "ok=%d error=%d timeout=%d short_circuited=%d fallbacks=%d", v["ok"], v["error"], v["timeout"], v["short_circuited"], fb }'
}
