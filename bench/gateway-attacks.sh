#!/usr/bin/env bash
# moat gateway vs NGINX under HTTP desync / smuggling / path- and host-confusion attacks, side by
# side on loopback, both in front of the same recording upstream.
#
#   bench/gateway-attacks.sh            (no arguments; ~35 s after the build on 2 CPUs)
#
# Environment (all optional):
#   MOAT_BIN          a moat-gateway binary to use instead of building
#                     `cargo build --release -p moat_gateway --example moat-gateway`
#   SMUGGLER_DIR      checkout of defparam/smuggler        (default /tmp/testers/smuggler)
#   H2CSMUGGLER_DIR   checkout of BishopFox/h2csmuggler    (default /tmp/testers/h2csmuggler)
#   SMUGGLEX_DIR      checkout of hahwul/smugglex (Rust)   (default /tmp/testers/smugglex);
#                     built there with cargo (release) when SMUGGLEX_BIN is not given
#   SMUGGLEX_BIN      a smugglex binary                    (default $SMUGGLEX_DIR/target/release/smugglex)
#   KEEP_RESULTS      a file to copy the per-probe JSON results to
#   KEEP_WORK=1       keep the work folder (upstream log, configs, raw tester outputs)
# A tester that is not found is skipped with a line saying so; the testers are never part of
# this repository (check them out outside it, e.g. under /tmp/testers).
#
# Set-up (all on 127.0.0.1, ports chosen free at start):
#   upstream  bench/gateway_attacks.py upstream: one process, one folder (open/index.txt,
#             private/secret.txt = SECRET, denied/secret.txt), paths interpreted like Python's
#             http.server (percent-decoding + normalisation). It listens on two ports, one per
#             proxy, so every request it logs (raw request line and header lines, body length,
#             status, SECRET served or not) is attributed to the proxy that forwarded it.
#   moat      plain-HTTP listener (for the HTTP/1 probes and testers) + TLS listener (h2 probes)
#   nginx     the same two listeners, `proxy_set_header Host $host`, X-Forwarded-For/X-Real-IP
#             set to the peer, X-Api-Key and client X-Consumer-Id removed, X-Consumer-Id set
#             for the key (what moat does); a client's Forwarded header is passed on as sent
#             (NGINX's default)
#   routes    /        public (everything not below; the usual shape of an API)
#             /open    public
#             /private API key required (x-api-key)
#             /denied  denied to every address
#             host admin.example: API key required on every path
# Probes (bench/gateway_attacks.py probe): controls, path confusion, host confusion (HTTP/1 and
# HTTP/2), forged identity headers, credentials to a public route, malformed chunked bodies,
# CL.TE / TE.CL / TE.TE desync mutations (each followed by a second request on the same
# connection), HTTP/2 downgrade smuggling. A row is a bypass when the upstream served SECRET, or
# received a request for /private (without the key), /denied, or host admin.example (without
# the key). Then the public testers (defparam/smuggler, BishopFox/h2csmuggler, hahwul/smugglex)
# run against both proxies, with what each reported and what reached the upstream meanwhile.
# Needs: nginx, openssl, curl, python3 (Debian packages installed when missing), `h2` from PyPI
# (installed when missing; without it the HTTP/2 probes and h2csmuggler are skipped), cargo.
set -euo pipefail
cd "$(dirname "$0")/.."
START=$(date +%s)
ulimit -n 65536 2>/dev/null || true

# shellcheck source=bench/gateway-setup.sh
. bench/gateway-setup.sh
gw_install nginx:nginx-light openssl:openssl curl:curl python3:python3
if [ -n "${MOAT_BIN:-}" ]; then
  MOAT="$MOAT_BIN"
else
  gw_build moat-gateway
fi
[ -x "$MOAT" ] || { echo "moat-gateway binary not found: $MOAT" >&2; exit 1; }
if ! python3 -c 'import h2' 2>/dev/null; then
  python3 -m pip install -q h2 >/dev/null 2>&1 \
    || python3 -m pip install -q --break-system-packages h2 >/dev/null 2>&1 || true
fi
HAVE_H2=0; python3 -c 'import h2' 2>/dev/null && HAVE_H2=1

SMUGGLER_DIR="${SMUGGLER_DIR:-/tmp/testers/smuggler}"
H2CSMUGGLER_DIR="${H2CSMUGGLER_DIR:-/tmp/testers/h2csmuggler}"
SMUGGLEX_DIR="${SMUGGLEX_DIR:-/tmp/testers/smugglex}"
BUILD_SMUGGLEX=0; [ -z "${SMUGGLEX_BIN:-}" ] && BUILD_SMUGGLEX=1
SMUGGLEX_BIN="${SMUGGLEX_BIN:-$SMUGGLEX_DIR/target/release/smugglex}"

gw_workdir attacks
# stop every process started here, with its children (testers run under `timeout` in subshells)
kill_tree() {
  local c
  for c in $(pgrep -P "$1" 2>/dev/null); do kill_tree "$c"; done
  kill "$1" 2>/dev/null || true
}
attacks_cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill_tree "$p"; done
  wait 2>/dev/null || true
  if [ -n "${KEEP_WORK:-}" ]; then echo "kept $WORK (logs, configs, tester outputs)" >&2; else rm -rf "$WORK"; fi
}
trap attacks_cleanup EXIT
trap 'exit 130' INT TERM

PYA=bench/gateway_attacks.py
KEY="bench-attack-key-0123456789abcdef"
echo "bench:$KEY" > "$WORK/keys.txt"
gw_cert
UP_M=$(free_port); UP_N=$(free_port)
MP=$(free_port); MT=$(free_port); MADM=$(free_port); NP=$(free_port); NT=$(free_port)
LOG="$WORK/upstream.jsonl"

cat > "$WORK/moat.toml" <<EOF
[[listener]]
name = "plain"
listen = "127.0.0.1:$MP"
plain_http = true

[[listener]]
name = "tls"
listen = "127.0.0.1:$MT"
[[listener.tls.certificates]]
cert_file = "$WORK/cert.pem"
key_file = "$WORK/key.pem"

[admin]
listen = "127.0.0.1:$MADM"

[limits]
max_connections_per_ip = 0
max_connections = 0

[api_keys]
file = "$WORK/keys.txt"
header = "x-api-key"

[upstream.app]
targets = ["127.0.0.1:$UP_M"]

[[route]]
name = "public"
path_prefix = "/"
upstream = "app"

[[route]]
name = "open"
path_prefix = "/open"
upstream = "app"

[[route]]
name = "private"
path_prefix = "/private"
upstream = "app"
auth = "api_key"
private = true

[[route]]
name = "denied"
path_prefix = "/denied"
upstream = "app"
deny = ["0.0.0.0/0", "::/0"]

[[route]]
name = "admin"
hosts = ["admin.example"]
path_prefix = "/"
upstream = "app"
auth = "api_key"
private = true

[access_log]
target = "$WORK/moat-access.log"
EOF

mkdir -p "$WORK/ng"
cat > "$WORK/ng/nginx.conf" <<EOF
worker_processes 1;
pid $WORK/ng/nginx.pid;
error_log $WORK/ng/error.log warn;
events { worker_connections 4096; }
http {
  access_log $WORK/ng/access.log;
  client_body_temp_path $WORK/ng/body;
  proxy_temp_path $WORK/ng/proxy;
  server_tokens off;
  ssl_certificate $WORK/cert.pem;
  ssl_certificate_key $WORK/key.pem;
  ssl_protocols TLSv1.2 TLSv1.3;
  upstream app { server 127.0.0.1:$UP_N; keepalive 16; }
  map \$http_x_api_key \$consumer { "$KEY" "bench"; default ""; }
  proxy_http_version 1.1;
  proxy_set_header Connection "";
  proxy_set_header Host \$host;
  proxy_set_header X-Forwarded-For \$remote_addr;
  proxy_set_header X-Real-IP \$remote_addr;
  proxy_set_header X-Forwarded-Proto \$scheme;
  proxy_set_header X-Api-Key "";
  proxy_set_header X-Consumer-Id \$consumer;
  server {
    listen 127.0.0.1:$NP default_server;
    listen 127.0.0.1:$NT ssl http2 default_server;
    server_name localhost;
    location / { proxy_pass http://app; }
    location /open { proxy_pass http://app; }
    location /private {
      if (\$http_x_api_key != "$KEY") { return 401; }
      proxy_pass http://app;
    }
    location /denied { deny all; proxy_pass http://app; }
  }
  server {
    listen 127.0.0.1:$NP;
    listen 127.0.0.1:$NT ssl http2;
    server_name admin.example;
    location / {
      if (\$http_x_api_key != "$KEY") { return 401; }
      proxy_pass http://app;
    }
  }
}
EOF

python3 "$PYA" upstream --root "$WORK/www" --log "$LOG" --port "$UP_M" --port "$UP_N" >"$WORK/upstream.out" 2>&1 &
PIDS+=($!)
"$MOAT" --config "$WORK/moat.toml" >"$WORK/moat.out" 2>&1 & PIDS+=($!)
"$NGINX" -c "$WORK/ng/nginx.conf" -g 'daemon off;' >"$WORK/ng/stderr" 2>&1 & PIDS+=($!)
up() { curl -sk -o /dev/null --max-time 1 "$1"; }
for _ in $(seq 1 50); do
  if up "http://127.0.0.1:$UP_M/open/index.txt" && up "http://127.0.0.1:$UP_N/open/index.txt" \
    && up "http://127.0.0.1:$MP/open/index.txt" && up "https://127.0.0.1:$MT/open/index.txt" \
    && up "http://127.0.0.1:$NP/open/index.txt" && up "https://127.0.0.1:$NT/open/index.txt"; then
    READY=1; break
  fi
  sleep 0.2
done
if [ -z "${READY:-}" ]; then
  echo "a server did not start" >&2
  cat "$WORK/upstream.out" "$WORK/moat.out" "$WORK/ng/stderr" "$WORK/ng/error.log" >&2 2>/dev/null || true
  exit 1
fi

echo "# moat gateway vs nginx under attack probes ($(date -u +%Y-%m-%dT%H:%MZ))"
if [ -n "${MOAT_BIN:-}" ]; then
  BUILT="MOAT_BIN"
else
  BUILT="built from $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD -- crates 2>/dev/null || echo ' + uncommitted changes')"
fi
echo "# moat: $MOAT ($BUILT), nginx $("$NGINX" -v 2>&1 | sed 's/.*\///'), h2 probes: $([ "$HAVE_H2" = 1 ] && echo on || echo 'skipped (python h2 not installed)')"
echo
timeout 300 python3 "$PYA" probe --log "$LOG" --key "$KEY" --out "$WORK/probes.json" \
  --proxy "moat:$MP:$MT:$UP_M" --proxy "nginx:$NP:$NT:$UP_N"
if [ -n "${KEEP_RESULTS:-}" ]; then cp "$WORK/probes.json" "$KEEP_RESULTS"; fi

# ---- public testers ---------------------------------------------------------------------------
now() { date +%s.%N; }
# window NAME UPPORT T0: what reached the upstream for that proxy since T0
window() { sleep 2.5; python3 "$PYA" window --log "$LOG" --port "$2" --start "$3" --end "$(now)"; }

if [ ! -x "$SMUGGLEX_BIN" ] && [ "$BUILD_SMUGGLEX" = 1 ] && [ -f "$SMUGGLEX_DIR/Cargo.toml" ]; then
  if ! command -v cargo >/dev/null; then
    SMUGGLEX_WHY="$SMUGGLEX_BIN not built and cargo not found"
  else
    echo
    echo "building smugglex in $SMUGGLEX_DIR (release, target/ there; once, ~2 min on 2 CPUs) ..."
    if ! (cd "$SMUGGLEX_DIR" && CARGO_TARGET_DIR="$SMUGGLEX_DIR/target" timeout 900 cargo build -q --release) \
      >"$WORK/smugglex-build.log" 2>&1; then
      SMUGGLEX_WHY="cargo build in $SMUGGLEX_DIR failed: $(grep -m1 '^error' "$WORK/smugglex-build.log" || tail -1 "$WORK/smugglex-build.log")"
    fi
  fi
fi

# testers NAME PLAIN_PORT TLS_PORT UPSTREAM_PORT: every tester against one proxy, one after another
testers() {
  local name=$1 plain=$2 tls=$3 upp=$4 t0 out
  echo "## $name"
  if [ -f "$SMUGGLER_DIR/smuggler.py" ]; then
    rm -rf "$WORK/smuggler-$name"; cp -r "$SMUGGLER_DIR" "$WORK/smuggler-$name" # it writes payloads/ beside itself
    out="$WORK/smuggler-$name.txt"; t0=$(now)
    timeout 150 python3 "$WORK/smuggler-$name/smuggler.py" -u "http://127.0.0.1:$plain/open/" \
      -t 2 --no-color >"$out" 2>&1 || true
    echo "smuggler (defparam, default.py, POST /open/): $(python3 "$PYA" summarize-smuggler "$out")"
    echo "  upstream meanwhile: $(window "$name" "$upp" "$t0")"
  else
    echo "smuggler: skipped: $SMUGGLER_DIR/smuggler.py not found (set SMUGGLER_DIR)"
  fi
  if [ ! -f "$H2CSMUGGLER_DIR/h2csmuggler.py" ]; then
    echo "h2csmuggler: skipped: $H2CSMUGGLER_DIR/h2csmuggler.py not found (set H2CSMUGGLER_DIR)"
  elif [ "$HAVE_H2" != 1 ]; then
    echo "h2csmuggler: skipped: the python h2 package could not be installed"
  else
    local url
    for url in "http://127.0.0.1:$plain/open/" "https://127.0.0.1:$tls/open/"; do
      out="$WORK/h2c-$name.txt"; t0=$(now)
      timeout 20 python3 "$H2CSMUGGLER_DIR/h2csmuggler.py" -m 3 -x "$url" \
        "http://localhost/private/secret.txt" >"$out" 2>&1 || true
      echo "h2csmuggler -x $url http://localhost/private/secret.txt: $(python3 "$PYA" summarize-h2csmuggler "$out")"
      echo "  upstream meanwhile: $(window "$name" "$upp" "$t0")"
    done
  fi
  if [ -x "$SMUGGLEX_BIN" ]; then
    out="$WORK/smugglex-$name.txt"; t0=$(now)
    timeout 150 "$SMUGGLEX_BIN" "http://127.0.0.1:$plain/open/" -t 3 --json --no-color >"$out" 2>"$out.err" || true
    echo "smugglex http://…/open/ (cl-te,te-cl,te-te,h2c,h2,cl-edge): $(python3 "$PYA" summarize-smugglex "$out")"
    echo "  upstream meanwhile: $(window "$name" "$upp" "$t0")"
    out="$WORK/smugglex-tls-$name.txt"; t0=$(now)
    timeout 150 "$SMUGGLEX_BIN" "https://127.0.0.1:$tls/open/" -k -t 3 -c h2-downgrade --json --no-color >"$out" 2>"$out.err" || true
    echo "smugglex https://…/open/ -c h2-downgrade (real HTTP/2, H2.CL/H2.TE): $(python3 "$PYA" summarize-smugglex "$out")"
    echo "  upstream meanwhile: $(window "$name" "$upp" "$t0")"
  else
    echo "smugglex: skipped: ${SMUGGLEX_WHY:-$SMUGGLEX_BIN not found and $SMUGGLEX_DIR/Cargo.toml not found (set SMUGGLEX_DIR or SMUGGLEX_BIN)}"
  fi
}

echo
echo "# public testers (moat and nginx in parallel)"
testers moat "$MP" "$MT" "$UP_M" >"$WORK/testers-moat.txt" 2>&1 & TM=$!; PIDS+=("$TM")
testers nginx "$NP" "$NT" "$UP_N" >"$WORK/testers-nginx.txt" 2>&1 & TN=$!; PIDS+=("$TN")
wait "$TM" "$TN" || true
cat "$WORK/testers-moat.txt" "$WORK/testers-nginx.txt"
echo
echo "# done in $(( $(date +%s) - START )) s"
