#!/usr/bin/env bash
# moat gateway vs NGINX as a TLS reverse proxy, same machine, same run, interleaved A/B rounds.
#
#   bench/gateway-vs-nginx.sh [ROUNDS] [SECONDS]      (defaults: 3 rounds of 10 s per target)
#
# Targets (all on 127.0.0.1, ports chosen free at start):
#   direct     the trivial upstream itself (nginx `return 200`, plain HTTP)
#   nginx      NGINX TLS reverse proxy, limit_req (not binding), JSON access log to a file
#   moat       moat gateway, TLS, one rate limit (not binding), JSON access log to a file
#   moat-auth  the same with API-key auth on
# Throughput: wrk over HTTPS keep-alive (wrk pinned to CPU 1, servers to CPU 0 when taskset
# and 2+ CPUs exist). Latency: the `fixed-rate` example (open-loop, keep-alive, microsecond
# timings, no coordinated omission) at a fixed offered rate. CPU = server user+sys microseconds
# per request during the wrk run; RSS = resident memory after the run. Throughput ratios are
# given two ways: of the medians, and the median of the per-round ratios (both servers of a
# round are measured within a minute, so it is the steadier figure on a shared machine).
# Idle RSS and RSS with 10,000 idle keep-alive connections are measured for moat at the end.
# The load average is checked before each run.
# Needs: nginx, wrk, openssl, python3 (installed from Debian when missing), cargo.
set -euo pipefail
ROUNDS="${1:-3}"
SECS="${2:-10}"
CONNS="${CONNS:-64}"
RATE="${RATE:-2000}"
cd "$(dirname "$0")/.."
ulimit -n 65536 2>/dev/null || true

# shellcheck source=bench/gateway-setup.sh
. bench/gateway-setup.sh
gw_install nginx:nginx-light wrk:wrk openssl:openssl
gw_build moat-gateway fixed-rate
gw_workdir bench
UP=$(free_port); NG=$(free_port); MO=$(free_port); MA=$(free_port); ADM=$(free_port); ADM_AUTH=$(free_port)
gw_pinning
gw_cert
BENCH_KEY="bench-key-0123456789abcdef"
echo "bench:$BENCH_KEY" > "$WORK/keys.txt"
gw_upstream_conf "$UP"
gw_nginx_proxy_conf "$NG" "$UP"
gw_moat_conf "$WORK/moat.toml" "$MO" "$ADM" "$UP" "$WORK/moat-$MO.log" none "$WORK/keys.txt"
gw_moat_conf "$WORK/moat-auth.toml" "$MA" "$ADM_AUTH" "$UP" "$WORK/moat-$MA.log" api_key "$WORK/keys.txt"

$SRV_CPU "$NGINX" -c "$WORK/ng-up/nginx.conf" -g 'daemon off;' & PIDS+=($!); UP_PID=$!
$SRV_CPU "$NGINX" -c "$WORK/ng-px/nginx.conf" -g 'daemon off;' & PIDS+=($!); NG_PID=$!
$SRV_CPU "$MOAT" --config "$WORK/moat.toml" 2>"$WORK/moat.err" & PIDS+=($!); MO_PID=$!
$SRV_CPU "$MOAT" --config "$WORK/moat-auth.toml" 2>"$WORK/moat-auth.err" & PIDS+=($!); MA_PID=$!
sleep 1.5
for p in $UP $NG $MO $MA; do
  curl -sk -o /dev/null "https://127.0.0.1:$p/" 2>/dev/null || curl -s -o /dev/null "http://127.0.0.1:$p/" \
    || { echo "server on $p did not start" >&2; cat "$WORK"/*.err >&2; exit 1; }
done

tree_pids() { echo "$1"; pgrep -P "$1" || true; }
cpu_ticks() { local t=0; for p in $(tree_pids "$1"); do
    [ -r "/proc/$p/stat" ] && t=$((t + $(awk '{print $14+$15}' "/proc/$p/stat"))); done; echo "$t"; }
rss_kb() { local t=0; for p in $(tree_pids "$1"); do
    [ -r "/proc/$p/status" ] && t=$((t + $(awk '/VmRSS/{print $2}' "/proc/$p/status"))); done; echo "$t"; }
busy_pct() { # CPU busy % of the whole machine over one second
  local a b
  a=$(awk '/^cpu /{print $2+$3+$4+$6+$7+$8, $5}' /proc/stat); sleep 1
  b=$(awk '/^cpu /{print $2+$3+$4+$6+$7+$8, $5}' /proc/stat)
  awk -v a="$a" -v b="$b" 'BEGIN{split(a,x," "); split(b,y," "); u=y[1]-x[1]; i=y[2]-x[2]; printf "%d", (u+i) ? 100*u/(u+i) : 0}'
}
wait_quiet() { # before each run: wait (up to 10 s) until other work leaves the machine mostly idle
  local p
  for _ in $(seq 1 10); do
    p=$(busy_pct); [ "$p" -lt 25 ] && return 0
  done
  echo "  (machine still ${p}% busy with other work; measuring anyway)"
}
HZ=$(getconf CLK_TCK)
declare -A RPS P50 P99 CPU RSS LP50 LP99
add() { eval "$1[\$2]=\"\${$1[\$2]:-} $3\""; }

run_one() { # name url pid header
  local name=$1 url=$2 pid=$3 hdr=$4 out c0 c1 lat
  wait_quiet
  c0=$(cpu_ticks "$pid")
  out=$($LOAD_CPU wrk -t1 -c"$CONNS" -d"${SECS}s" --latency ${hdr:+-H "$hdr"} "$url")
  c1=$(cpu_ticks "$pid")
  add RPS "$name" "$(awk '/Requests\/sec/{print $2}' <<<"$out")"
  add P50 "$name" "$(awk '$1=="50%"{print $2}' <<<"$out")"
  add P99 "$name" "$(awk '$1=="99%"{print $2}' <<<"$out")"
  add CPU "$name" "$(awk -v a="$c0" -v b="$c1" -v hz="$HZ" -v secs="$SECS" -v rps="$(awk '/Requests\/sec/{print $2}' <<<"$out")" 'BEGIN{printf "%.2f", (b-a)/hz*1e6/(rps*secs)}')"
  add RSS "$name" "$(( $(rss_kb "$pid") / 1024 ))"
  wait_quiet
  lat=$($LOAD_CPU "$FIXED" --rate "$RATE" --conns 20 --secs "$SECS" ${hdr:+--header "$hdr"} "$url" 2>/dev/null || true)
  add LP50 "$name" "$(awk '{for(i=1;i<NF;i++) if($i=="p50") print $(i+1)}' <<<"$lat")"
  add LP99 "$name" "$(awk '{for(i=1;i<NF;i++) if($i=="p99") print $(i+1)}' <<<"$lat")"
  echo "  $name: $(awk '/Requests\/sec/{print $2}' <<<"$out") req/s"
}

echo "# gateway vs nginx: $ROUNDS rounds x ${SECS}s, $CONNS connections (wrk), fixed rate $RATE req/s (fixed-rate, 20 connections)"
echo "# $(nproc) CPUs, $(uname -r), nginx $("$NGINX" -v 2>&1 | sed 's/.*\///'), pinning: ${SRV_CPU:-none}"
fds() { ls "/proc/$1/fd" 2>/dev/null | wc -l; }
for r in $(seq 1 "$ROUNDS"); do
  echo "round $r"
  if [ "$r" = 2 ]; then MO_RSS_WARM=$(rss_kb "$MO_PID"); MO_FD_WARM=$(fds "$MO_PID"); fi
  run_one direct "http://127.0.0.1:$UP/" "$UP_PID" ""
  run_one nginx "https://localhost:$NG/" "$NG_PID" ""
  run_one moat "https://localhost:$MO/" "$MO_PID" ""
  run_one moat-auth "https://localhost:$MA/" "$MA_PID" "x-api-key: $BENCH_KEY"
done

median() { tr ' ' '\n' | sed '/^$/d' | sort -g | awk '{a[NR]=$0} END{print a[int((NR+1)/2)]}'; }
to_ms() { awk '{v=$1; if (v ~ /us$/) {sub(/us$/,"",v); v/=1000} else if (v ~ /ms$/) {sub(/ms$/,"",v)} else if (v ~ /s$/) {sub(/s$/,"",v); v*=1000}; printf "%.3f", v}'; }
echo
printf '%-10s %10s %9s %9s %9s %9s %8s %8s\n' target "req/s" "p50" "p99" "fix-p50" "fix-p99" "us/req" "rss-MB"
for t in direct nginx moat moat-auth; do
  printf '%-10s %10s %9s %9s %9s %9s %8s %8s\n' "$t" \
    "$(median <<<"${RPS[$t]}")" "$(median <<<"${P50[$t]}" | to_ms)ms" "$(median <<<"${P99[$t]}" | to_ms)ms" \
    "$(median <<<"${LP50[$t]}" | to_ms)ms" "$(median <<<"${LP99[$t]}" | to_ms)ms" \
    "$(median <<<"${CPU[$t]}")" "$(median <<<"${RSS[$t]}")"
done
m=$(median <<<"${RPS[moat]}"); n=$(median <<<"${RPS[nginx]}"); d=$(median <<<"${RPS[direct]}")
ma=$(median <<<"${RPS[moat-auth]}")
mp=$(median <<<"${LP99[moat]}" | to_ms); np=$(median <<<"${LP99[nginx]}" | to_ms)
awk -v m="$m" -v n="$n" -v d="$d" -v ma="$ma" -v mp="$mp" -v np="$np" 'BEGIN{
  printf "ratios of the medians: moat/nginx %.3f, moat-auth/nginx %.3f, moat/direct %.2f, fixed-rate p99 moat/nginx %.3f\n", m/n, ma/n, m/d, mp/np }'
per_round() { # name: the per-round throughput ratios name/nginx, then their median
  paste -d' ' <(tr ' ' '\n' <<<"${RPS[$1]}" | sed '/^$/d') <(tr ' ' '\n' <<<"${RPS[nginx]}" | sed '/^$/d') \
    | awk '{printf "%.3f ", $1/$2}'
}
for t in moat moat-auth; do
  r=$(per_round "$t")
  echo "per-round $t/nginx: $r-> median $(median <<<"$r")"
done
TOTAL=$(curl -s "http://127.0.0.1:$ADM/metrics" | awk '/^moat_gateway_requests_total/{s+=$2} END{print s+0}')
echo "moat served $TOTAL requests; after warm-up (round 1): RSS ${MO_RSS_WARM:-?} kB, ${MO_FD_WARM:-?} fds; at the end: RSS $(rss_kb "$MO_PID") kB, $(fds "$MO_PID") fds"
# idle RSS and RSS with 10,000 idle keep-alive TLS connections (moat, auth off)
echo "moat idle RSS: $(( $(rss_kb "$MO_PID") / 1024 )) MB"
python3 - "$MO" <<'EOF' &
import socket, ssl, sys, time
port = int(sys.argv[1])
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
conns = []
for i in range(10000):
    try:
        s = socket.create_connection(("127.0.0.1", port))
        t = ctx.wrap_socket(s, server_hostname="localhost")
        t.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"); t.recv(4096)
        conns.append(t)
    except OSError as e:
        print(f"connection {i}: {e}", file=sys.stderr); break
print(f"opened {len(conns)} keep-alive connections", flush=True)
time.sleep(8)
EOF
HOLD=$!
sleep 6
for _ in $(seq 1 120); do
  n=$(ls /proc/"$MO_PID"/fd 2>/dev/null | wc -l); [ "$n" -ge 10000 ] && break; sleep 1
done
echo "moat with $(( $(ls /proc/"$MO_PID"/fd | wc -l) - 10 ))+ open connections: RSS $(( $(rss_kb "$MO_PID") / 1024 )) MB"
wait "$HOLD" 2>/dev/null || true
