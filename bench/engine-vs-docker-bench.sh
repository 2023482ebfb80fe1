#!/usr/bin/env bash
# moat audit --engine vs Docker Bench for Security (docker/docker-bench-security), on the same
# live engine: N containers (half of them stopped) and M images with a mix of good and bad
# settings, built here from nothing (Debian's busybox-static, `docker import`; no registry needed).
#
#   bench/engine-vs-docker-bench.sh [N] [M] [DOCKER_BENCH_DIR] [MOAT_BINARY]
#
#   N                 containers to create (default 100; half running, half stopped)
#   M                 images to derive from the base image (default 20)
#   DOCKER_BENCH_DIR  a work tree of docker/docker-bench-security (default /tmp/docker-bench)
#   MOAT_BINARY       default ${CARGO_TARGET_DIR:-./target}/release/moat
#
# Environment: OUT (default /tmp/engine-bench) receives the raw outputs and the table
# engine-vs-docker-bench.md; RUNS (default 3) timed runs of each tool, the median is reported.
#
# Docker Bench runs sections 2, 4 and 5 only, restricted to the objects labelled moat.bench=1
# (`-t moat.bench=1`), so other containers on the engine do not count. It must run as root
# (otherwise it sleeps 3 s and cannot read dockerd's command line), needs awk, grep, sed, stat,
# ss or netstat, pgrep and, for sane daemon.json parsing, jq.
#
# Every object this script creates carries the label moat.bench=1 and is removed on exit,
# also on failure or Ctrl-C. The script does not build moat: build it first
# (cargo build --release -p moat); the moat half is skipped when the binary does not know
# `--engine` yet.
set -euo pipefail
cd "$(dirname "$0")/.."

# ---- the moat invocation (flag names and JSON shape are not final: change them here) ----------
MOAT_ARGS=(audit --engine --label moat.bench=1 --format json)   # the same containers as `-t moat.bench=1`
MOAT_FEATURE_PROBE='--engine'   # `moat audit --help` must mention this for the moat half to run

N="${1:-100}"
M="${2:-20}"
BENCH_DIR="${3:-/tmp/docker-bench}"
MOAT="${4:-${CARGO_TARGET_DIR:-./target}/release/moat}"
OUT="${OUT:-/tmp/engine-bench}"
RUNS="${RUNS:-3}"
LABEL="moat.bench=1"
PREFIX="moatbench"
DB_GROUPS="docker_daemon_configuration,container_images,container_runtime"

case "$MOAT" in /*) ;; *) MOAT="$PWD/$MOAT" ;; esac
case "$BENCH_DIR" in /*) ;; *) BENCH_DIR="$PWD/$BENCH_DIR" ;; esac
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/${PREFIX}.XXXXXX")"

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# ---- clean-up: everything labelled moat.bench=1, also on failure and Ctrl-C ---------------------
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  log "removing every object labelled $LABEL"
  docker ps -aq --filter "label=$LABEL" | xargs -r docker rm -f -v >/dev/null 2>&1 || true
  docker images -q --filter "label=$LABEL" | sort -u | xargs -r docker rmi -f >/dev/null 2>&1 || true
  docker network ls -q --filter "label=$LABEL" | xargs -r docker network rm >/dev/null 2>&1 || true
  docker volume ls -q --filter "label=$LABEL" | xargs -r docker volume rm -f >/dev/null 2>&1 || true
  # the empty cgroup left by --cgroup-parent (cgroupfs driver)
  rmdir /sys/fs/cgroup/*/"$PREFIX" 2>/dev/null || true
  rm -rf "$WORK"
  local left
  left="$(docker ps -aq --filter "label=$LABEL" | wc -l) containers, $(docker images -q --filter "label=$LABEL" | wc -l) images"
  log "left behind: $left"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- requirements ---------------------------------------------------------------------------------
command -v docker >/dev/null || die "docker CLI not found"
docker info >/dev/null 2>&1 || die "cannot reach the Docker engine (docker info fails)"
[ -x "$BENCH_DIR/docker-bench-security.sh" ] || die "no Docker Bench work tree at $BENCH_DIR
  (git clone https://github.com/docker/docker-bench-security $BENCH_DIR)"
need_apt=()
command -v jq >/dev/null || need_apt+=(jq)
command -v python3 >/dev/null || need_apt+=(python3)
[ -x /bin/busybox ] || need_apt+=(busybox-static)
command -v pgrep >/dev/null || need_apt+=(procps)
if [ "${#need_apt[@]}" -gt 0 ]; then
  log "installing ${need_apt[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi
[ "$(id -u)" = 0 ] || log "warning: not root: Docker Bench sleeps 3 s per run and cannot read dockerd's arguments"
[ $((N % 2)) -eq 0 ] || N=$((N + 1))

# leftovers of an interrupted earlier run
docker ps -aq --filter "label=$LABEL" | xargs -r docker rm -f -v >/dev/null 2>&1 || true
docker images -q --filter "label=$LABEL" | sort -u | xargs -r docker rmi -f >/dev/null 2>&1 || true
docker network ls -q --filter "label=$LABEL" | xargs -r docker network rm >/dev/null 2>&1 || true
docker volume ls -q --filter "label=$LABEL" | xargs -r docker volume rm -f >/dev/null 2>&1 || true

# ---- base image: busybox rootfs, imported ----------------------------------------------------------
log "building the base image from /bin/busybox"
root="$WORK/rootfs"
mkdir -p "$root"/{bin,etc,tmp,usr/sbin,run,data}
cp /bin/busybox "$root/bin/busybox"
for applet in $(/bin/busybox --list); do
  [ "$applet" = busybox ] || ln -sf busybox "$root/bin/$applet"
done
cat >"$root/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
app:x:1000:1000:app:/data:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
EOF
cat >"$root/etc/group" <<'EOF'
root:x:0:
app:x:1000:
nogroup:x:65534:
EOF
# a process named sshd, for CIS 5.7
printf '#!/bin/sh\nwhile :; do sleep 3600; done\n' >"$root/usr/sbin/sshd"
chmod 0755 "$root/usr/sbin/sshd"
chmod 1777 "$root/tmp"
tar -C "$root" -cf "$WORK/rootfs.tar" .

docker import --change "LABEL $LABEL" --change 'CMD ["/bin/sleep","1000000"]' \
  "$WORK/rootfs.tar" "$PREFIX-base:1" >/dev/null

# M derived images: USER, ENV, HEALTHCHECK, EXPOSE variants (re-imported, so each is its own image)
images=()
for ((j = 0; j < M; j++)); do
  ch=(--change "LABEL $LABEL" --change 'CMD ["/bin/sleep","1000000"]')
  case $((j % 8)) in
    0) ch+=(--change 'USER 1000:1000' --change 'HEALTHCHECK --interval=60s CMD ["/bin/true"]') ;;
    1) ;;                                                   # no USER (root), no HEALTHCHECK
    2) ch+=(--change 'USER root' --change 'EXPOSE 22') ;;
    3) ch+=(--change 'USER 0:0' --change 'HEALTHCHECK --interval=60s CMD ["/bin/true"]') ;;
    4) ch+=(--change 'ENV DB_PASSWORD=Zq8vR2mW7tLx4pNc' --change 'USER app') ;;
    5) ch+=(--change 'USER 1000' --change 'HEALTHCHECK NONE') ;;
    6) ch+=(--change 'ENV ADDRESS=0.0.0.0 PORT=8080' --change 'EXPOSE 8080' --change 'USER nobody') ;;
    7) ch+=(--change 'EXPOSE 80 443' --change 'HEALTHCHECK --interval=60s CMD ["/bin/true"]') ;;
  esac
  name=$(printf '%s-img-%02d:1' "$PREFIX" "$j")
  docker import "${ch[@]}" "$WORK/rootfs.tar" "$name" >/dev/null
  images+=("$name")
done
log "imported 1 base image and $M derived images"

docker network create --label "$LABEL" "$PREFIX-net" >/dev/null
docker volume create --label "$LABEL" "$PREFIX-etc" >/dev/null
mkdir -p "$WORK/shared"

# ---- container profiles ----------------------------------------------------------------------------
# Profiles that start on this engine, and profiles that can only be created (a privileged
# container or a shared mount propagation does not start inside an unprivileged VM or
# rootless engine): those are put in the stopped half only.
RUNNABLE=(good plain capadd-sysadmin capadd-benign capdrop-all hostpid-ipc hostnet-uts
  etc-rw etc-ro subpaths root-ro vol-over-etc docker-sock run-dir seccomp-unconfined
  apparmor-unconfined label-disable user-root user-00 user-app ports-all ports-v6
  ports-loopback ports-priv publish-all restart-10 restart-always nnp-false nnp-true device
  cgroup-parent userns-host env-secret sshd limits no-healthcheck health readonly)
CREATE_ONLY=(privileged capadd-all rshared)
ALL=("${RUNNABLE[@]}" "${CREATE_ONLY[@]}")

# sets the global array `args` (docker options) and `cmd` (command after the image)
profile_args() {
  local p=$1 i=$2 hp=$((20000 + 4 * $2)) pp=$((600 + $2 % 400))
  args=() cmd=()
  case $p in
    good) args=(--cap-drop ALL --user 1000:1000 --read-only --memory 64m --cpus 0.25
      --pids-limit 64 --security-opt no-new-privileges=true --restart on-failure:3
      --health-cmd /bin/true --health-interval 60s --network "$PREFIX-net"
      -p "127.0.0.1:$hp:8080") ;;
    plain) ;;
    capadd-sysadmin) args=(--cap-add SYS_ADMIN --cap-add NET_ADMIN) ;;
    capadd-benign) args=(--cap-add NET_BIND_SERVICE --cap-add CAP_CHOWN) ;;
    capdrop-all) args=(--cap-drop ALL) ;;
    hostpid-ipc) args=(--pid host --ipc host) ;;
    hostnet-uts) args=(--network host --uts host) ;;
    etc-rw) args=(-v /etc:/host/etc) ;;
    etc-ro) args=(-v /etc:/host/etc:ro) ;;
    subpaths) args=(-v /etc/shadow:/run/host-shadow:ro -v /usr/lib:/host/usr-lib:ro) ;;
    root-ro) args=(-v /:/hostroot:ro) ;;
    vol-over-etc) args=(-v "$PREFIX-etc:/etc") ;;
    docker-sock) args=(-v /var/run/docker.sock:/var/run/docker.sock) ;;
    run-dir) args=(-v /run:/host/run:ro) ;;
    seccomp-unconfined) args=(--security-opt seccomp=unconfined) ;;
    apparmor-unconfined) args=(--security-opt apparmor=unconfined) ;;
    label-disable) args=(--security-opt label=disable) ;;
    user-root) args=(--user root) ;;
    user-00) args=(--user 0:0) ;;
    user-app) args=(--user app) ;;
    ports-all) args=(-p "$hp:8080" -p "0.0.0.0:$((hp + 1)):8081") ;;
    ports-v6) args=(-p "[::]:$hp:8080") ;;
    ports-loopback) args=(-p "127.0.0.1:$hp:8080" -p "[::1]:$((hp + 1)):8081") ;;
    ports-priv) args=(-p "$pp:80") ;;
    publish-all) args=(--expose 8080 -P) ;;
    restart-10) args=(--restart on-failure:10) ;;
    restart-always) args=(--restart always) ;;
    nnp-false) args=(--security-opt no-new-privileges=false) ;;
    nnp-true) args=(--security-opt no-new-privileges) ;;
    device) args=(--device /dev/null:/dev/xnull) ;;
    cgroup-parent) args=(--cgroup-parent "/$PREFIX") ;;
    userns-host) args=(--userns host) ;;
    env-secret) args=(-e DB_PASSWORD=Zq8vR2mW7tLx4pNc -e "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMIK7MDENGbPxRfiCYzQ9v8Lm3Tq2s") ;;
    sshd) args=(--entrypoint /bin/sh) cmd=(/usr/sbin/sshd) ;;
    limits) args=(--memory 32m --cpu-shares 512 --pids-limit 100) ;;
    no-healthcheck) args=(--no-healthcheck) ;;
    health) args=(--health-cmd /bin/true --health-interval 60s) ;;
    readonly) args=(--read-only --tmpfs /tmp) ;;
    privileged) args=(--privileged) ;;
    capadd-all) args=(--cap-add ALL) ;;
    rshared) args=(-v "$WORK/shared:/mnt/shared:rshared") ;;
    *) die "unknown profile $p" ;;
  esac
}

log "creating $N containers ($((N / 2)) running, $((N / 4)) created, $((N / 2 - N / 4)) exited)"
inventory="$OUT/inventory.tsv"
printf 'name\tprofile\tstate\timage\n' >"$inventory"
to_stop=()
for ((i = 0; i < N; i++)); do
  if ((i % 2 == 0)); then
    state=running
    profile=${RUNNABLE[$(((i / 2) % ${#RUNNABLE[@]}))]}
  else
    ((i % 4 == 1)) && state=created || state=exited
    profile=${ALL[$(((i / 2) % ${#ALL[@]}))]}
    case " ${CREATE_ONLY[*]} " in *" $profile "*) state=created ;; esac
  fi
  image=${images[$((i % M))]}
  name=$(printf '%s-c%03d-%s' "$PREFIX" "$i" "$profile")
  profile_args "$profile" "$i"
  if [ "$state" = created ]; then
    docker create --label "$LABEL" --name "$name" "${args[@]}" "$image" "${cmd[@]}" >/dev/null
  else
    docker run -d --label "$LABEL" --name "$name" "${args[@]}" "$image" "${cmd[@]}" >/dev/null
    [ "$state" = exited ] && to_stop+=("$name")
  fi
  printf '%s\t%s\t%s\t%s\n' "$name" "$profile" "$state" "$image" >>"$inventory"
done
[ "${#to_stop[@]}" -eq 0 ] || docker stop -t 0 "${to_stop[@]}" >/dev/null
log "engine now holds $(docker ps -q --filter "label=$LABEL" | wc -l) running and $(docker ps -aq --filter "label=$LABEL" --filter status=created --filter status=exited | wc -l) stopped bench containers"

# ---- timing helpers -------------------------------------------------------------------------------
now() { date +%s.%N; }
median() { sort -g | awk '{a[NR]=$1} END {if (NR % 2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

# ---- Docker Bench (sections 2, 4, 5) ---------------------------------------------------------------
db_times=()
for ((r = 1; r <= RUNS; r++)); do
  t0=$(now)
  (cd "$BENCH_DIR" && ./docker-bench-security.sh -b -c "$DB_GROUPS" -t "$LABEL" \
    -l "$OUT/docker-bench.$r.log") >"$OUT/docker-bench.$r.out" 2>&1 || true
  t1=$(now)
  db_times+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.2f", b - a}')")
  log "Docker Bench run $r: ${db_times[-1]} s"
done
db_median=$(printf '%s\n' "${db_times[@]}" | median)
cp "$OUT/docker-bench.1.log.json" "$OUT/docker-bench.json"
jq -e . "$OUT/docker-bench.json" >/dev/null || die "Docker Bench wrote invalid JSON ($OUT/docker-bench.json)"

# ---- moat --------------------------------------------------------------------------------------------
moat_median=""
moat_json=""
if [ ! -x "$MOAT" ]; then
  log "SKIP moat: no binary at $MOAT (cargo build --release -p moat)"
elif ! "$MOAT" audit --help 2>&1 | grep -q -- "$MOAT_FEATURE_PROBE"; then
  log "SKIP moat: $MOAT does not support \`audit $MOAT_FEATURE_PROBE\` yet"
else
  mkdir -p "$WORK/empty"   # so that moat finds no project file to audit besides the engine
  moat_times=()
  for ((r = 1; r <= RUNS; r++)); do
    t0=$(now)
    (cd "$WORK/empty" && "$MOAT" "${MOAT_ARGS[@]}") >"$OUT/moat.$r.json" 2>"$OUT/moat.$r.err" || true
    t1=$(now)
    moat_times+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f", b - a}')")
    log "moat run $r: ${moat_times[-1]} s"
  done
  moat_median=$(printf '%s\n' "${moat_times[@]}" | median)
  moat_json="$OUT/moat.1.json"
  jq -e '.findings' "$moat_json" >/dev/null || die "moat did not write a JSON report with findings ($moat_json, see $OUT/moat.1.err)"
fi

# ---- objects on the engine, for mapping findings to containers and images --------------------------
docker ps -a --no-trunc --filter "label=$LABEL" --format '{{.ID}}\t{{.Names}}' >"$OUT/containers.tsv"
docker images --no-trunc --filter "label=$LABEL" --format '{{.ID}}\t{{.Repository}}:{{.Tag}}' >"$OUT/images.tsv"

# ---- check-by-check table -------------------------------------------------------------------------
python3 - "$OUT" "$moat_json" "$N" "$M" "$db_median" "$moat_median" "${db_times[*]}" "${moat_times[*]:-}" <<'PY'
import collections, json, re, sys

out, moat_json, n, m, db_med, moat_med, db_runs, moat_runs = sys.argv[1:9]
inv = {}
with open(f"{out}/inventory.tsv") as f:
    next(f)
    for line in f:
        name, profile, state, image = line.rstrip("\n").split("\t")
        inv[name] = (profile, state)
ids = {}
for line in open(f"{out}/containers.tsv"):
    cid, name = line.rstrip("\n").split("\t")
    ids[cid.removeprefix("sha256:")] = name
imgs = {}
for line in open(f"{out}/images.tsv"):
    iid, tag = line.rstrip("\n").split("\t")
    imgs[iid.removeprefix("sha256:")] = tag
tags = set(imgs.values())

def obj_name(raw):
    """Container name, image tag or 'daemon' for a Docker Bench item or a moat object."""
    raw = raw.strip().strip("[]").split(" @ ")[0]
    # moat names objects `container:NAME`, `image:REPO:TAG`, `daemon:HOST`
    for kind in ("container:", "image:", "network:", "daemon:"):
        if raw.startswith(kind):
            return "daemon" if kind == "daemon:" else obj_name(raw[len(kind):])
    kind, _, rest = raw.partition("/")
    cand = rest if rest and kind in ("container", "image", "network", "daemon", "engine") else raw
    cand = cand.removeprefix("sha256:")
    for part in [cand] + cand.split(":"):
        if part in inv or part in tags:
            return part
        if re.fullmatch(r"[0-9a-f]{8,64}", part):
            for full, name in list(ids.items()) + list(imgs.items()):
                if full.startswith(part):
                    return name
    return raw

def cis_key(i):
    return tuple(int(x) for x in i.split("."))

db = json.load(open(f"{out}/docker-bench.json"))
db_res, db_desc, db_objs = {}, {}, collections.defaultdict(set)
foreign = collections.defaultdict(set)
for sec in db["tests"]:
    for t in sec["results"]:
        i = t["id"]
        db_res[i], db_desc[i] = t["result"], re.sub(r"\s*\((Automated|Manual|Scored)\)", "", t["desc"])
        if t["result"] in ("WARN", "INFO") and t.get("items"):
            for x in t["items"]:
                if x.strip() and x != "(truncated)":
                    o = obj_name(x)
                    # 5.30 walks the networks and ignores `-t`: keep other objects apart
                    (db_objs[i] if o in inv or o in tags else foreign[i]).add(o)
        elif t["result"] == "WARN":
            db_objs[i].add("daemon" if i.startswith("2.") or i in ("4.5", "5.1") else "?")

moat_objs = collections.defaultdict(set)
moat_codes = collections.defaultdict(set)
foreign_moat = set()
if moat_json:
    rep = json.load(open(moat_json))
    for fnd in rep.get("findings", []):
        loc = fnd.get("location", {})
        obj = obj_name(loc.get("object") or loc.get("path") or "?")
        for ref in fnd.get("references", []):
            mm = re.fullmatch(r"CIS-DOCKER-(\d+(?:\.\d+)*)", ref)
            if mm and mm.group(1).split(".")[0] in ("2", "4", "5"):
                if obj not in inv and obj not in tags:
                    if not (mm.group(1).startswith("2.") or mm.group(1) in ("4.5", "5.1")):
                        foreign_moat.add(obj)  # another container or image on the engine
                        continue
                    obj = "daemon"
                moat_objs[mm.group(1)].add(obj)
                moat_codes[mm.group(1)].add(fnd.get("code", "?").removeprefix("MOAT-"))

def fmt(objs):
    return str(len(objs)) if objs else "0"

def profiles(objs):
    ps = sorted({inv[o][0] for o in objs if o in inv} | {o for o in objs if o not in inv})
    return ", ".join(ps[:8]) + (" …" if len(ps) > 8 else "")

running = {k for k, (p, s) in inv.items() if s == "running"}
lines = []
lines.append("# moat audit --engine vs Docker Bench for Security, check by check\n")
lines.append(f"{n} containers ({len(running)} running, {len(inv) - len(running)} stopped), "
             f"{m} derived images + 1 base image, all labelled `moat.bench=1`.\n")
lines.append(f"Docker Bench (sections 2, 4, 5): median {db_med} s over runs {db_runs}.  ")
if moat_json:
    ratio = float(db_med) / float(moat_med) if float(moat_med) > 0 else float("inf")
    lines.append(f"moat audit --engine: median {moat_med} s over runs {moat_runs}; "
                 f"ratio Docker Bench / moat = {ratio:.1f}x.\n")
else:
    lines.append("moat audit --engine: not run (no binary with `--engine`).\n")
lines.append("Counts are distinct objects (containers, images, or `daemon`). Docker Bench only "
             "looks at running containers; moat's count is split into running / all.\n")
lines.append("| CIS | title | Docker Bench | DB flags | moat flags (running / all) | moat rules | "
             "running flagged by DB only | running flagged by moat only |")
lines.append("|---|---|---|---|---|---|---|---|")
for i in sorted(set(db_res) | set(moat_objs), key=cis_key):
    d, mo = db_objs.get(i, set()), moat_objs.get(i, set())
    mo_run = {o for o in mo if o in running or o not in inv}
    if moat_json:
        mcol = f"{len(mo_run)} / {len(mo)}"
        only_db, only_moat = profiles(d - mo_run), profiles(mo_run - d)
    else:
        mcol, only_db, only_moat = "n/a", "n/a", "n/a"
    lines.append(f"| {i} | {db_desc.get(i, '')} | {db_res.get(i, '—')} | {fmt(d)} | {mcol} | "
                 f"{', '.join(sorted(moat_codes.get(i, []))) or '—'} | {only_db} | {only_moat} |")
lines.append("")
for i in sorted(foreign, key=cis_key):
    lines.append(f"Docker Bench {i} also reported objects without the bench label (not counted): "
                 f"{', '.join(sorted(foreign[i]))}.  ")
if foreign_moat:
    lines.append(f"moat also reported {len(foreign_moat)} objects without the bench label (not counted).  ")
lines.append("")
lines.append("Per profile, what Docker Bench flags on the running containers "
             "(profile: CIS ids with a WARN or INFO item):\n")
per_prof = collections.defaultdict(set)
for i, objs in db_objs.items():
    for o in objs:
        if o in inv:
            per_prof[inv[o][0]].add(i)
for p in sorted({inv[k][0] for k in running}):
    lines.append(f"- `{p}`: {', '.join(sorted(per_prof.get(p, []), key=cis_key)) or 'nothing'}")
text = "\n".join(lines) + "\n"
open(f"{out}/engine-vs-docker-bench.md", "w").write(text)
print(text)
PY

echo "Docker Bench (sections 2, 4, 5; $N containers, $M images): median ${db_median} s (runs: ${db_times[*]})"
if [ -n "$moat_median" ]; then
  echo "moat ${MOAT_ARGS[*]}: median ${moat_median} s (runs: ${moat_times[*]})"
  awk -v a="$db_median" -v b="$moat_median" 'BEGIN {if (b > 0) printf "ratio docker-bench/moat: %.1fx\n", a / b}'
else
  echo "moat: skipped (see above)"
fi
echo "table: $OUT/engine-vs-docker-bench.md"
