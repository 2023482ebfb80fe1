#!/usr/bin/env bash
# Runs the reference deployment (./compose.yaml) on the local Docker engine and checks its
# perimeter from the host, then removes everything it made — containers, networks, volumes,
# the images it built, temporary files — whether the checks pass or not.
#
#   deploy/try.sh
#
# What it checks:
#   - in the gateway container (FROM scratch, static glibc): the API's name resolves, and
#     `moat gateway check` passes the config as deployed, secrets in place;
#   - HTTPS through the gateway with the demo API key (curl trusts only the deployment's CA);
#   - 401 without a key and with a wrong one;
#   - 429 past the per-key limit, with Retry-After and the RateLimit headers;
#   - the API publishes no port, and a container on no network or on another network cannot
#     reach it;
#   - the gateway's access log (docker logs) holds one JSON line for each request made;
#   - `moat audit --engine` on the project's containers: nothing at medium or above;
#   - `moat scan` of the two images it built runs (findings are allowed).
#
# Environment: MOAT_PROFILE, the cargo profile of moat's image (default `image`, see
# Cargo.toml; `release` for the optimised one); MOAT_BIN, the moat binary for the host-side
# checks (default: the static build that ./images.sh makes for the image); MOAT_SCAN_DB, the advisory database for `moat scan`
# (default: moat's own when it has one, else one made from the test fixture's Debian records);
# MOAT_DEPLOY_PORT, the host port (default: a free one); KEEP=1 leaves the project running
# (and prints how to remove it). Needs docker, docker-compose (or `docker compose`), curl,
# openssl, python3 and, the first time, debootstrap (see ./images.sh).
set -euo pipefail

started=$(date +%s)
say() { printf 'try [%ss]: %s\n' "$(($(date +%s) - started))" "$*" >&2; }
fail() {
  say "FAILED: $*"
  exit 1
}

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
for tool in docker curl openssl python3; do
  command -v "$tool" >/dev/null 2>&1 || fail "$tool is not installed"
done
docker info >/dev/null 2>&1 || fail "the Docker engine does not answer (docker info failed)"
if command -v docker-compose >/dev/null 2>&1; then
  compose_cmd=(docker-compose)
elif docker compose version >/dev/null 2>&1; then
  compose_cmd=(docker compose)
else
  fail "neither docker-compose nor the docker compose plugin is installed"
fi

run_id="$$-$(date +%s)"
project="moattry${run_id//-/}"
tmp=$(mktemp -d)
export MOAT_IMAGE="moat-deploy/moat:try-$run_id"
export API_IMAGE="moat-deploy/api:try-$run_id"
export MOAT_DEPLOY_SECRETS="$tmp/secrets"
# the cargo profile of moat's image: `image` builds in about half the time of `release`
export MOAT_PROFILE=${MOAT_PROFILE:-image}
export MOAT_DEPLOY_ADDR=127.0.0.1
if [ -z "${MOAT_DEPLOY_PORT:-}" ]; then
  MOAT_DEPLOY_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
fi
export MOAT_DEPLOY_PORT
probe_net="$project-probe"
base=moat-deploy/python-base:1
base_existed=0
docker image inspect "$base" >/dev/null 2>&1 && base_existed=1

compose() { "${compose_cmd[@]}" -p "$project" -f deploy/compose.yaml "$@"; }

teardown() {
  local status=$?
  trap - EXIT INT TERM
  if [ "$status" -ne 0 ]; then
    say "the project's state, for the failure above:"
    compose ps >&2 || true
    compose logs --no-color --tail 40 >&2 || true
  fi
  docker network rm "$probe_net" >/dev/null 2>&1 || true
  if [ "${KEEP:-0}" = 1 ] && [ "$status" -eq 0 ]; then
    say "left running (KEEP=1): https://127.0.0.1:$MOAT_DEPLOY_PORT/orders, secrets in $tmp/secrets;"
    say "remove with: MOAT_IMAGE=$MOAT_IMAGE API_IMAGE=$API_IMAGE MOAT_DEPLOY_SECRETS=$tmp/secrets ${compose_cmd[*]} -p $project -f deploy/compose.yaml down -v --remove-orphans && docker image rm $MOAT_IMAGE $API_IMAGE && rm -rf $tmp"
    exit 0
  fi
  compose down -v --remove-orphans --timeout 5 >/dev/null 2>&1 || say "note: compose down failed"
  docker image rm "$MOAT_IMAGE" "$API_IMAGE" >/dev/null 2>&1 || true
  if [ "$base_existed" -eq 0 ]; then
    docker image rm "$base" >/dev/null 2>&1 || true
  fi
  rm -rf "$tmp"
  left=$(docker ps -aq --filter "label=com.docker.compose.project=$project")
  [ -z "$left" ] || say "note: containers left behind: $left"
  if [ "$status" -eq 0 ]; then
    say "all checks passed; torn down"
  else
    say "torn down after a failure"
  fi
  exit "$status"
}
trap teardown EXIT
trap 'exit 130' INT TERM

# 1. Secrets and images.
say "secrets in $tmp/secrets"
deploy/secrets.sh "$tmp/secrets"
key=$(cat "$tmp/secrets/demo-api-key.txt")
deploy/images.sh
for image in "$API_IMAGE" "$MOAT_IMAGE"; do
  say "$image: $(($(docker image inspect -f '{{.Size}}' "$image") / 1000000)) MB"
done
moat=${MOAT_BIN:-${CARGO_TARGET_DIR:-$repo/target}/x86_64-unknown-linux-gnu/$MOAT_PROFILE/moat}
[ -x "$moat" ] || fail "no moat binary at $moat (set MOAT_BIN)"

# 2. The project, default profile.
say "docker-compose -p $project up -d (gateway on 127.0.0.1:$MOAT_DEPLOY_PORT)"
compose up -d >"$tmp/up.log" 2>&1 || {
  cat "$tmp/up.log" >&2
  fail "compose up failed"
}
gateway=$(compose ps -q gateway)
api=$(compose ps -q api)
[ -n "$gateway" ] && [ -n "$api" ] || fail "the gateway or the API container is missing"
for _ in $(seq 1 60); do
  health=$(docker inspect -f '{{.State.Health.Status}}' "$gateway")
  [ "$health" = healthy ] && break
  sleep 1
done
[ "$health" = healthy ] || fail "the gateway is not healthy after 60 s ($health)"
say "gateway healthy"
# the static binary resolves service names in FROM scratch (glibc's built-in files and dns)
docker exec "$gateway" /usr/local/bin/moat health http://api:8080/healthz >/dev/null 2>&1 \
  || fail "moat in the gateway container cannot reach http://api:8080/healthz by name"
# the config as deployed, with the real secrets in place: loads, and no finding
docker exec "$gateway" /usr/local/bin/moat gateway check --fail-on low /etc/moat/gateway.toml \
  >"$tmp/check.txt" 2>&1 || fail "moat gateway check in the container: $(cat "$tmp/check.txt")"
say "in the gateway container: api:8080 resolves; moat gateway check: no findings"

url="https://127.0.0.1:$MOAT_DEPLOY_PORT/orders"
# request ID HEADERS... : prints the status; the response head goes to $tmp/ID.head
request() {
  local id=$1
  shift
  curl -sS --cacert "$tmp/secrets/ca.pem" -o "$tmp/$id.body" -D "$tmp/$id.head" \
    -w '%{http_code}' -H "x-request-id: $id" "$@" "$url"
}
header() { sed -n "s/^$2: *//Ip" "$tmp/$1.head" | tr -d '\r' | head -1; }
expect() { # ID STATUS CURL-ARGS...
  local id=$1 want=$2 got
  shift 2
  got=$(request "$id" "$@") || fail "curl failed for $id"
  [ "$got" = "$want" ] || fail "$id: status $got, expected $want ($(cat "$tmp/$id.body"))"
  printf '%s %s\n' "$id" "$want" >>"$tmp/expected"
}

# 3. TLS with a valid key; 401 without one or with a wrong one.
expect "$project-ok" 200 -H "x-api-key: $key"
grep -q '"consumer": "demo"' "$tmp/$project-ok.body" \
  || fail "the API did not see the consumer id: $(cat "$tmp/$project-ok.body")"
[ -n "$(header "$project-ok" ratelimit-policy)" ] || fail "no RateLimit-Policy header on a 200"
[ -n "$(header "$project-ok" strict-transport-security)" ] || fail "no HSTS header"
expect "$project-nokey" 401
expect "$project-badkey" 401 -H "x-api-key: not-the-key-0000000000000000"
say "TLS + API key: 200; no key, wrong key: 401"

# 4. Past the per-key limit (burst 20): 429 with Retry-After and RateLimit headers.
limited=""
for i in $(seq 1 30); do
  status=$(request "$project-burst-$i" -H "x-api-key: $key") || fail "curl failed"
  printf '%s %s\n' "$project-burst-$i" "$status" >>"$tmp/expected"
  case "$status" in
    200) ;;
    429)
      limited="$project-burst-$i"
      break
      ;;
    *) fail "burst request $i: status $status" ;;
  esac
done
[ -n "$limited" ] || fail "30 requests in a row were never limited"
[ -n "$(header "$limited" retry-after)" ] || fail "a 429 without Retry-After"
[ -n "$(header "$limited" ratelimit)" ] || fail "a 429 without RateLimit"
[ -n "$(header "$limited" x-ratelimit-remaining)" ] || fail "a 429 without X-RateLimit-Remaining"
say "429 at request ${limited##*-} of the burst: Retry-After $(header "$limited" retry-after), RateLimit $(header "$limited" ratelimit)"

# 5. The API is reachable only through the gateway.
[ -z "$(docker inspect -f '{{range $p, $b := .NetworkSettings.Ports}}{{if $b}}{{$p}} {{end}}{{end}}' "$api")" ] \
  || fail "the API publishes a port"
api_ip=$(docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}' "$api" | awk '{print $1}')
[ -n "$api_ip" ] || fail "the API has no address"
docker network create "$probe_net" >/dev/null
probe='import socket, sys
for target in sys.argv[1:]:
    host, port = target.rsplit(":", 1)
    try:
        socket.create_connection((host, int(port)), timeout=3).close()
    except OSError as e:
        print(target, "unreachable:", e)
        continue
    print(target, "REACHED")
    sys.exit(1)'
for net in none "$probe_net"; do
  # a one-shot probe on the API's image (it has python3), as hardened as the services
  # moat: ignore[C027] a one-shot probe that exits at once, not a service to watch
  docker run --rm --network "$net" --cap-drop ALL --security-opt no-new-privileges:true \
    --read-only --user 10001:10001 --memory 64m --cpus 0.5 --pids-limit 32 \
    "$API_IMAGE" python3 -c "$probe" "$api_ip:8080" "api:8080" >"$tmp/probe.txt" 2>&1 \
    || fail "a container on network $net reached the API: $(cat "$tmp/probe.txt")"
done
# and the API has no way out either: its network is internal
if docker exec "$api" python3 -c "$probe" "1.1.1.1:443" >/dev/null 2>&1; then
  say "API container: no route out"
else
  fail "the API container reached 1.1.1.1:443 (its network is not internal)"
fi
say "API: no published port; unreachable from no network and from another network"

# 6. One JSON access-log line per request made.
sleep 1
docker logs "$gateway" 2>/dev/null >"$tmp/access.log"
python3 - "$tmp/access.log" "$tmp/expected" <<'EOF' || fail "access log check failed"
import json, sys
lines = {}
for raw in open(sys.argv[1]):
    raw = raw.strip()
    if not raw.startswith("{"):
        continue
    entry = json.loads(raw)
    if "trace.id" in entry:
        lines.setdefault(entry["trace.id"], []).append(entry)
missing = []
for row in open(sys.argv[2]):
    rid, status = row.split()
    got = lines.get(rid, [])
    if len(got) != 1 or got[0].get("http.response.status_code") != int(status):
        missing.append((rid, status, got))
if missing:
    print("access log lines missing or wrong:", missing, file=sys.stderr)
    sys.exit(1)
EOF
say "access log: one JSON line for each of the $(wc -l <"$tmp/expected") requests"

# 7. The engine audit of the project's containers and their images. The daemon's own settings
#    (H rules: icc, userns-remap, ...) belong to the host, not to the deployment: they are
#    listed, and only the rest must have nothing at medium or above.
"$moat" audit --engine --format json --label "com.docker.compose.project=$project" \
  >"$tmp/engine-audit.json" 2>"$tmp/engine-audit.err" || [ $? -eq 1 ] \
  || fail "moat audit --engine failed: $(cat "$tmp/engine-audit.err")"
python3 - "$tmp/engine-audit.json" <<'EOF' || fail "moat audit --engine found something at medium or above"
import json, sys
report = json.load(open(sys.argv[1]))
if report.get("errors"):
    print("errors:", report["errors"], file=sys.stderr)
    sys.exit(1)
gating = ("critical", "high", "medium")
host = sorted({f["code"] for f in report["findings"] if f["code"].startswith("H")})
ours = [f for f in report["findings"] if not f["code"].startswith("H")]
bad = [f for f in ours if f["severity"] in gating]
for f in bad:
    print(f'{f["severity"]}[{f["code"]}] {f["message"]} ({f.get("location")})', file=sys.stderr)
print(f'containers and images: {len(bad)} at medium or above, {len(ours)} in all '
      f'{sorted({f["code"] for f in ours})}; the host daemon\'s own settings: '
      f'{", ".join(host) or "none"}', file=sys.stderr)
sys.exit(1 if bad else 0)
EOF
say "moat audit --engine: the project's containers and images pass at medium"

# 8. Scans of the built images: they run (0: nothing found, 1: findings; 2 is an error).
db=${MOAT_SCAN_DB:-}
if [ -z "$db" ] && ! "$moat" db info >/dev/null 2>&1; then
  db="$tmp/advisories.db"
  "$moat" db import --db "$db" crates/moat/tests/fixtures/scan/debian12 >/dev/null \
    || fail "moat db import failed"
  say "no advisory database: scanning against the test fixture's Debian records"
fi
for image in "$API_IMAGE" "$MOAT_IMAGE"; do
  set +e
  "$moat" scan ${db:+--db "$db"} --format json "$image" >"$tmp/scan.json" 2>"$tmp/scan.err"
  code=$?
  set -e
  case "$code" in
    0 | 1)
      summary=$(
        python3 - "$tmp/scan.json" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
n = {key: len(r[key]) for key in ("packages", "vulnerabilities", "secrets")}
print(f"{n['packages']} packages, {n['vulnerabilities']} vulnerabilities, {n['secrets']} secrets")
EOF
      ) || fail "moat scan $image: the report is not JSON"
      say "moat scan $image: exit $code, $summary"
      ;;
    *)
      cat "$tmp/scan.err" >&2
      fail "moat scan $image failed (exit $code)"
      ;;
  esac
done
