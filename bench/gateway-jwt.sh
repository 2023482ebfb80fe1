#!/usr/bin/env bash
# moat gateway with JWT bearer auth (auth = "jwt") vs API-key auth vs no auth vs NGINX (no auth),
# same machine, same run, interleaved rounds.
#
#   bench/gateway-jwt.sh [ROUNDS] [SECONDS]      (defaults: 5 rounds of 10 s per target)
#   ALGS="ES256 RS256 EdDSA" CONNS=64 RATE=2000 LATENCY=1 bench/gateway-jwt.sh 5 10
#
# Targets (all on 127.0.0.1, ports chosen free at start, all in front of the trivial nginx
# upstream of gateway-vs-nginx.sh):
#   nginx        NGINX TLS reverse proxy, limit_req (not binding), JSON access log (no auth)
#   moat         moat gateway, TLS, one rate limit (not binding), JSON access log, auth off
#   moat-apikey  the same with API-key auth (x-api-key header)
#   moat-es256   the same with auth = "jwt": [jwt] public_key_file = a P-256 key made with
#                openssl; every request carries one token (minted with PyJWT, exp ten years
#                ahead, iss/aud/sub set) in `Authorization: Bearer ...`, verified per request
#   moat-rs256   the same with a 2048-bit RSA key (RS256)
#   moat-eddsa   the same with an Ed25519 key (EdDSA)
# Throughput: wrk -t1 -cCONNS (default 64) over HTTPS keep-alive. "us/req" = the server's
# user+sys CPU per request during the wrk run (as in gateway-vs-nginx.sh); JWT's own cost is the
# difference of us/req against moat-apikey (the same request path with a cheaper credential
# check). Latency (LATENCY=1, default): the `fixed-rate` example at RATE req/s (default 2000),
# 20 connections. At the end, for scale: one signature verification alone (`openssl speed` on
# the servers' CPU). Pinning: servers on CPU 0, wrk and fixed-rate on CPU 1 (taskset, 2+ CPUs).
# Medians over the rounds; ratios to nginx of the medians and as the median of per-round ratios.
# Needs: nginx, wrk, openssl, python3 with PyJWT and cryptography (pip), curl, cargo.
set -euo pipefail
ROUNDS="${1:-5}"
SECS="${2:-10}"
CONNS="${CONNS:-64}"
RATE="${RATE:-2000}"
LATENCY="${LATENCY:-1}"
ALGS="${ALGS:-ES256 RS256 EdDSA}"
cd "$(dirname "$0")/.."
ulimit -n 65536 2>/dev/null || true

# shellcheck source=bench/gateway-setup.sh
. bench/gateway-setup.sh
# shellcheck source=bench/gateway-measure.sh
. bench/gateway-measure.sh
gw_install nginx:nginx-light wrk:wrk openssl:openssl curl:curl
gm_need nginx wrk openssl curl python3 cargo
python3 -c 'import jwt, cryptography' 2>/dev/null || python3 -m pip install -q pyjwt cryptography \
  || { echo "python3 needs PyJWT and cryptography (pip install pyjwt cryptography)" >&2; exit 1; }
gw_build moat-gateway fixed-rate
gw_workdir jwt
gw_pinning
gw_cert
UP=$(free_port); NG=$(free_port)
BENCH_KEY="bench-key-0123456789abcdef"
echo "bench:$BENCH_KEY" > "$WORK/keys.txt"
gw_upstream_conf "$UP"
gw_nginx_proxy_conf "$NG" "$UP"
$SRV_CPU "$NGINX" -c "$WORK/ng-up/nginx.conf" -g 'daemon off;' & PIDS+=($!)
$SRV_CPU "$NGINX" -c "$WORK/ng-px/nginx.conf" -g 'daemon off;' & PIDS+=($!)

declare -A URL PID HDR
URL[nginx]="https://localhost:$NG/"; PID[nginx]=${PIDS[-1]}; HDR[nginx]=""
gateway() { # NAME HEADER [options for gm_moat_conf]
  local name=$1 hdr=$2 port admin; shift 2
  port=$(free_port); admin=$(free_port)
  gm_moat_conf "$WORK/$name.toml" "$port" "$admin" "$UP" "$WORK/$name.log" "$@"
  $SRV_CPU "$MOAT" --config "$WORK/$name.toml" 2>"$WORK/$name.err" & PIDS+=($!); PID[$name]=$!
  URL[$name]="https://localhost:$port/"; HDR[$name]=$hdr
}
TARGETS=(nginx moat moat-apikey)
gateway moat "" keys="$WORK/keys.txt"
gateway moat-apikey "x-api-key: $BENCH_KEY" auth=api_key keys="$WORK/keys.txt"

# one key pair and one token per algorithm
mint() { # ALG PRIVATE_KEY_FILE
  python3 - "$1" "$2" <<'EOF'
import sys, time, jwt
now = int(time.time())
claims = {"iss": "https://bench.example", "aud": "bench", "sub": "bench-client",
          "iat": now, "exp": now + 10 * 365 * 86400}
print(jwt.encode(claims, open(sys.argv[2]).read(), algorithm=sys.argv[1]))
EOF
}
for alg in $ALGS; do
  name="moat-${alg,,}"
  case "$alg" in
    ES256) openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$WORK/$alg.key" 2>/dev/null ;;
    RS256) openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$WORK/$alg.key" 2>/dev/null ;;
    EdDSA) openssl genpkey -algorithm ed25519 -out "$WORK/$alg.key" 2>/dev/null ;;
    *) echo "unknown algorithm $alg (ES256, RS256 or EdDSA)" >&2; exit 2 ;;
  esac
  openssl pkey -in "$WORK/$alg.key" -pubout -out "$WORK/$alg.pub" 2>/dev/null
  token=$(mint "$alg" "$WORK/$alg.key")
  gateway "$name" "Authorization: Bearer $token" auth=jwt jwt_key="$WORK/$alg.pub"
  TARGETS+=("$name")
done

for t in "${TARGETS[@]}"; do wait_up "${URL[$t]}" "$t" "${HDR[$t]}"; done
# auth really on: the credential is needed, and the right one is accepted
for t in "${TARGETS[@]}"; do
  [ -n "${HDR[$t]}" ] || continue
  without=$(curl -sk -o /dev/null -w '%{http_code}' "${URL[$t]}")
  with=$(curl -sk -o /dev/null -w '%{http_code}' -H "${HDR[$t]}" "${URL[$t]}")
  if [ "$without" != 401 ] || [ "$with" != 200 ]; then
    echo "$t: $without without the credential, $with with it (expected 401 and 200)" >&2; cat "$WORK/$t.err" >&2; exit 1
  fi
done

declare -A RPS P50 P99 CPU RSS LP50 LP99 ERR
ERR_TOTAL=0
run_one() { # target
  local t=$1 out c0 c1 reqs rps lat e
  wait_quiet
  c0=$(cpu_ticks "${PID[$t]}")
  out=$($LOAD_CPU wrk -t1 -c"$CONNS" -d"${SECS}s" --latency ${HDR[$t]:+-H "${HDR[$t]}"} "${URL[$t]}")
  c1=$(cpu_ticks "${PID[$t]}")
  reqs=$(awk '/requests in/{print $1}' <<<"$out"); rps=$(awk '/Requests\/sec/{print $2}' <<<"$out")
  e=$(awk '/Non-2xx/{s+=$NF} /Socket errors/{gsub(/[^0-9 ]/," "); s+=$1+$2+$3+$4} END{print s+0}' <<<"$out")
  add RPS "$t" "$rps"
  add P50 "$t" "$(awk '$1=="50%"{print $2}' <<<"$out" | to_ms)"
  add P99 "$t" "$(awk '$1=="99%"{print $2}' <<<"$out" | to_ms)"
  add CPU "$t" "$(awk -v a="$c0" -v b="$c1" -v hz="$HZ" -v n="$reqs" 'BEGIN{printf "%.2f", (b-a)/hz*1e6/n}')"
  add RSS "$t" "$(( $(rss_kb "${PID[$t]}") / 1024 ))"
  if [ "$LATENCY" = 1 ]; then
    wait_quiet
    lat=$($LOAD_CPU "$FIXED" --rate "$RATE" --conns 20 --secs "$SECS" ${HDR[$t]:+--header "${HDR[$t]}"} "${URL[$t]}" 2>&1 || true)
    lat=$(grep '^requests' <<<"$lat" || true)
    if [ -n "$lat" ]; then
      add LP50 "$t" "$(field p50 "$lat" | to_ms)"; add LP99 "$t" "$(field p99 "$lat" | to_ms)"
      e=$((e + $(field errors "$lat")))
    else
      echo "  fixed-rate on $t failed"; e=$((e + 1))
    fi
  fi
  ERR[$t]=$(( ${ERR[$t]:-0} + e )); ERR_TOTAL=$((ERR_TOTAL + e))
  echo "  $t: $rps req/s"
}

echo "# JWT auth: $ROUNDS rounds x ${SECS}s, wrk $CONNS connections over HTTPS$([ "$LATENCY" = 1 ] && echo ", fixed rate $RATE req/s (20 connections)")"
echo "# $(nproc) CPUs, $(uname -r), nginx $("$NGINX" -v 2>&1 | sed 's/.*\///'), PyJWT $(python3 -c 'import jwt; print(jwt.__version__)'), pinning: servers ${SRV_CPU:-none}, load ${LOAD_CPU:-none}"
echo "# token sizes (bytes): $(for t in "${TARGETS[@]}"; do case "${HDR[$t]}" in Authorization*) printf '%s %d  ' "$t" $(( ${#HDR[$t]} - 22 ));; esac; done)"
echo "# load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq 1 "$ROUNDS"); do
  echo "round $r"
  for t in "${TARGETS[@]}"; do run_one "$t"; done
done

echo
printf '%-12s %10s %9s %9s %9s %9s %8s %7s %7s\n' target "req/s" "p50" "p99" "fix-p50" "fix-p99" "us/req" "rss-MB" errors
for t in "${TARGETS[@]}"; do
  printf '%-12s %10s %9s %9s %9s %9s %8s %7s %7s\n' "$t" "$(median <<<"${RPS[$t]}")" \
    "$(median <<<"${P50[$t]}")ms" "$(median <<<"${P99[$t]}")ms" \
    "$(median <<<"${LP50[$t]:-}")ms" "$(median <<<"${LP99[$t]:-}")ms" \
    "$(median <<<"${CPU[$t]}")" "$(median <<<"${RSS[$t]}")" "${ERR[$t]:-0}"
done
per_round() { # A B: the per-round throughput ratios A/B
  paste -d' ' <(tr ' ' '\n' <<<"${RPS[$1]}" | sed '/^$/d') <(tr ' ' '\n' <<<"${RPS[$2]}" | sed '/^$/d') \
    | awk '{printf "%.3f ", $1/$2}'
}
n=$(median <<<"${RPS[nginx]}")
for t in "${TARGETS[@]:1}"; do
  rr=$(per_round "$t" nginx); pr=$(median <<<"$rr")
  line=$(awk -v m="$(median <<<"${RPS[$t]}")" -v n="$n" 'BEGIN{printf "%.3f", m/n}')
  case "$t" in moat-es256|moat-rs256|moat-eddsa)
    target=" (target >= 1.0: $(awk -v v="$pr" 'BEGIN{print (v >= 1.0) ? "met" : "NOT met"}'))" ;; *) target="" ;; esac
  echo "$t/nginx: $line of the medians, per round ${rr% } -> median $pr$target"
done
a=$(median <<<"${CPU[moat-apikey]}"); m=$(median <<<"${CPU[moat]}")
ra=$(median <<<"${RPS[moat-apikey]}")
echo "API key's cost over no auth: $(awk -v a="$a" -v m="$m" 'BEGIN{printf "%.2f", a-m}') us CPU/request"
for t in "${TARGETS[@]:3}"; do
  awk -v t="$t" -v c="$(median <<<"${CPU[$t]}")" -v a="$a" -v r="$(median <<<"${RPS[$t]}")" -v ra="$ra" 'BEGIN{
    printf "%s cost over the API key: %.2f us CPU/request (wall time per request at saturation: %+.2f us)\n", t, c-a, 1e6/r-1e6/ra }'
done
# the floor: one signature verification alone on the servers' CPU (OpenSSL's own code, not ring's)
speed=$($SRV_CPU openssl speed -seconds 1 rsa2048 ecdsap256 ed25519 2>/dev/null || true)
echo "signature verification alone (openssl speed, servers' CPU): $(awk '
  /^rsa 2048 bits/ {printf "RS256 %.1f us, ", 1e6/$NF}
  /ecdsa \(nistp256\)/ {printf "ES256 %.1f us, ", 1e6/$NF}
  /EdDSA \(Ed25519\)/ {printf "EdDSA %.1f us", 1e6/$NF}' <<<"$speed")"
echo "errors (wrk non-2xx and socket errors, fixed-rate errors): $ERR_TOTAL"
echo "# load average at end: $(cut -d' ' -f1-3 /proc/loadavg); measurements taken on a busy machine: $BUSY_NOTES of $CHECKS"
