# Shared set-up of the gateway benchmarks (sourced by gateway-vs-nginx.sh, gateway-soak.sh and
# gateway-instructions.sh, so that all three measure the same configurations): missing tools,
# the release build, a work folder removed on exit, free ports, CPU pinning, a throw-away
# certificate, and the configs of the trivial upstream, the NGINX proxy and the moat gateway.

# gw_install CMD:PACKAGE... — installs from Debian the packages whose command is missing.
gw_install() {
  local need=() pair
  for pair in "$@"; do
    command -v "${pair%%:*}" >/dev/null 2>&1 || [ -x "/usr/sbin/${pair%%:*}" ] || need+=("${pair#*:}")
  done
  if [ ${#need[@]} -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  fi
  NGINX="$(command -v nginx || echo /usr/sbin/nginx)"
}

# gw_build EXAMPLE... — release build of moat_gateway examples; sets MOAT (and FIXED).
gw_build() {
  export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/cache/moat-target}"
  local args=() e
  for e in "$@"; do args+=(--example "$e"); done
  cargo build -q --release -p moat_gateway "${args[@]}"
  MOAT="$CARGO_TARGET_DIR/release/examples/moat-gateway"
  FIXED="$CARGO_TARGET_DIR/release/examples/fixed-rate"
}

# gw_workdir NAME — WORK, a temporary folder; PIDS, processes stopped (and WORK removed) on exit.
gw_workdir() {
  WORK="$(mktemp -d "/tmp/moat-$1.XXXXXX")"
  PIDS=()
  trap gw_cleanup EXIT
}

gw_cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

# gw_pinning — SRV_CPU / LOAD_CPU: servers on CPU 0, load generators on CPU 1 (when possible).
gw_pinning() {
  SRV_CPU=""; LOAD_CPU=""
  if command -v taskset >/dev/null 2>&1 && [ "$(nproc)" -ge 2 ]; then
    SRV_CPU="taskset -c 0"; LOAD_CPU="taskset -c 1"
  fi
}

# gw_cert — $WORK/cert.pem and $WORK/key.pem for localhost / 127.0.0.1.
gw_cert() {
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj "/CN=localhost" -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
    -keyout "$WORK/key.pem" -out "$WORK/cert.pem" 2>/dev/null
}

# gw_upstream_conf PORT — $WORK/ng-up/nginx.conf: the trivial upstream (`return 200`).
gw_upstream_conf() {
  mkdir -p "$WORK/ng-up"
  cat > "$WORK/ng-up/nginx.conf" <<EOF
worker_processes 1;
pid $WORK/ng-up/nginx.pid;
error_log $WORK/ng-up/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  server { listen 127.0.0.1:$1; location / { return 200 "ok\n"; } }
}
EOF
}

# gw_nginx_proxy_conf PORT UPSTREAM_PORT [MAIN_DIRECTIVE] — $WORK/ng-px/nginx.conf: NGINX as a
# TLS reverse proxy, limit_req not binding, JSON access log to $WORK/ng-px/access.log.
gw_nginx_proxy_conf() {
  mkdir -p "$WORK/ng-px"
  cat > "$WORK/ng-px/nginx.conf" <<EOF
worker_processes 1;
${3:-}
pid $WORK/ng-px/nginx.pid;
error_log $WORK/ng-px/error.log warn;
events { worker_connections 16384; }
http {
  log_format json escape=json '{"@timestamp":"\$time_iso8601","client.ip":"\$remote_addr","http.request.method":"\$request_method","url.path":"\$uri","http.response.status_code":\$status,"event.duration":\$request_time,"upstream.address":"\$upstream_addr","upstream.duration":"\$upstream_response_time","trace.id":"\$request_id"}';
  access_log $WORK/ng-px/access.log json;
  limit_req_zone \$binary_remote_addr zone=perip:10m rate=1000000r/s;
  upstream api { server 127.0.0.1:$2; keepalive 64; }
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:$1 ssl http2;
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
}

# gw_moat_conf FILE PORT ADMIN_PORT UPSTREAM_PORT LOG [AUTH KEYS_FILE] — a moat gateway config:
# TLS, one rate limit not binding, JSON access log to LOG; AUTH = none (default) or api_key.
gw_moat_conf() {
  {
    cat <<EOF
[[listener]]
listen = "127.0.0.1:$2"
[[listener.tls.certificates]]
cert_file = "$WORK/cert.pem"
key_file = "$WORK/key.pem"
[admin]
listen = "127.0.0.1:$3"
[limits]
max_connections_per_ip = 0
max_connections = 0
EOF
    if [ -n "${7:-}" ]; then printf '[api_keys]\nfile = "%s"\n' "$7"; fi
    cat <<EOF
[[rate_limit]]
name = "not-binding"
key = "ip"
rate = "1000000/s"
[upstream.api]
targets = ["127.0.0.1:$4"]
[[route]]
name = "all"
upstream = "api"
auth = "${6:-none}"
rate_limits = ["not-binding"]
[access_log]
target = "$5"
EOF
  } > "$1"
}
