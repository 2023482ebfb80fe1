#!/usr/bin/env bash
# moat scan: speed against the physical floor, peak memory, and agreement with cargo-audit, in
# one run on the same input.
#
#   bench/scan.sh            (from the repo root; needs the Docker engine, jq, GNU time)
#
# What it measures:
#   1. builds moat (release, CARGO_TARGET_DIR default /var/cache/moat-bench-target, outside the
#      repo) and the scan fixture (scripts/scan-fixture.sh OUT; OUT default
#      $CARGO_TARGET_DIR/scan-fixture): a Debian bookworm image of 3 layers, ~128 MB as a
#      `docker save` tarball, also as an OCI layout, an oci-archive and an engine image;
#   2. the physical floor: `cat TARBALL > /dev/null` and `tar -tf TARBALL > /dev/null`, best of 3
#      with a warm page cache (GNU tar seeks over the members' data of a regular file, so -tf reads
#      the headers only; `tar -xOf TARBALL > /dev/null`, which reads every byte through tar, is
#      printed beside them for reference, and `docker save IMAGE > /dev/null` as the engine's own
#      floor);
#   3. `moat db import` of the shared RustSec and Go OSV exports and the Debian 12 fixtures, best
#      of 3, and the record count `moat db info` reports;
#   4. `moat scan --db DB -f json -o /dev/null TARBALL`, best of 5 (warm database), its peak RSS
#      (/usr/bin/time -v), the ratios to both floors against the targets (scan <= 2x floor,
#      <= 1 s, RSS <= 100 MB), and the same image with --no-secrets, by engine name, as an OCI
#      layout and as an oci-archive (times only);
#   5. agreement with cargo-audit on real Cargo.lock files (the fixture's, this repo's, and
#      older releases of a few projects read from bare git mirrors under MIRRORS, skipped when
#      absent): each lock alone in a folder, `cargo-audit audit --db RUSTSEC_DB --no-fetch
#      --stale --json --file LOCK` against `moat scan --db DB --rootfs DIR -f json`, compared as
#      sets of (advisory id, crate, version), vulnerabilities and informational advisories
#      (unmaintained, unsound, notice) separately. Skipped when cargo-audit is missing.
#
# Environment: CARGO_TARGET_DIR, OUT (fixture folder), SHARED (default ../shared),
# CARGO_AUDIT (default /work/tools/cargo-audit/bin/cargo-audit), RUSTSEC_DB (default
# $SHARED/advisories/rustsec-db), MIRRORS (default /work/.mirror), KEEP=1 keeps the work folder
# (raw JSON of every run) and prints its path.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/cache/moat-bench-target}"
OUT="${OUT:-$CARGO_TARGET_DIR/scan-fixture}"
SHARED="${SHARED:-../shared}"
CARGO_AUDIT="${CARGO_AUDIT:-/work/tools/cargo-audit/bin/cargo-audit}"
RUSTSEC_DB="${RUSTSEC_DB:-$SHARED/advisories/rustsec-db}"
MIRRORS="${MIRRORS:-/work/.mirror}"
IMAGE_NAME=moat-scan-fixture/debian-api:1

# Real lock files of other projects, as "OWNER/NAME TAG": releases from 2019-2021, old enough
# for advisories published since to match.
MIRROR_LOCKS=(
  "BurntSushi/ripgrep 13.0.0"
  "sharkdp/bat v0.18.0"
  "sharkdp/bat v0.12.0"
  "alacritty/alacritty v0.9.0"
  "rust-lang/mdBook v0.4.10"
)

for tool in jq /usr/bin/time; do
  command -v "$tool" >/dev/null 2>&1 || {
    echo "error: $tool is missing (apt-get install jq time)" >&2
    exit 2
  }
done

TMP=$(mktemp -d "${TMPDIR:-/tmp}/moat-scan-bench.XXXXXX")
if [ "${KEEP:-0}" = 1 ]; then
  trap 'echo "work folder kept: $TMP"' EXIT
else
  trap 'rm -rf "$TMP"' EXIT
fi

echo "== build (release, $CARGO_TARGET_DIR) and fixture ($OUT)"
nice -n 10 cargo build --release --quiet -p moat
MOAT="$CARGO_TARGET_DIR/release/moat"
scripts/scan-fixture.sh "$OUT"
TARBALL="$OUT/debian-api.docker.tar"
echo "moat: $("$MOAT" --version 2>/dev/null || echo "$MOAT")"
echo "machine: $(nproc) cores, $(uname -sr), load average $(cut -d' ' -f1-3 /proc/loadavg)"

# ---- helpers -------------------------------------------------------------------------------

# best_of N CMD...: runs CMD N times, prints the shortest wall time in seconds. Exit 0 and 1
# (moat: findings) count as success; anything else fails the measurement (status 1).
best_of() {
  local n=$1 i rc t0 t1 best=""
  shift
  for ((i = 0; i < n; i++)); do
    t0=$EPOCHREALTIME
    rc=0
    "$@" || rc=$?
    t1=$EPOCHREALTIME
    if [ "$rc" -gt 1 ]; then
      echo "failed (exit $rc): $*" >&2
      return 1
    fi
    best=$(awk -v best="$best" -v t0="$t0" -v t1="$t1" \
      'BEGIN { d = t1 - t0; if (best == "" || d < best) best = d; printf "%.4f", best }')
  done
  echo "$best"
}

# calc EXPR: floating-point arithmetic (awk), 3 decimals.
calc() { awk "BEGIN { printf \"%.3f\", $1 }"; }
# verdict EXPR: "met" when the awk condition holds, else "NOT met".
verdict() { if awk "BEGIN { exit !($1) }"; then echo met; else echo "NOT met"; fi; }

cat_floor() { cat "$1" >/dev/null; }
tar_floor() { tar -tf "$1" >/dev/null; }
tar_read() { tar -xOf "$1" >/dev/null; }
engine_save() { docker save "$1" >/dev/null; }
moat_quiet() { "$MOAT" "$@" >/dev/null 2>&1; }
# scan_to FILE ARGS...: a JSON scan written to FILE; exit 0/1 are success.
scan_to() {
  local file=$1 rc=0
  shift
  "$MOAT" scan --db "$DB" -f json -o "$file" "$@" 2>"$file.stderr" || rc=$?
  if [ "$rc" -gt 1 ]; then
    echo "moat scan $* failed (exit $rc):" >&2
    cat "$file.stderr" >&2
    return 1
  fi
}

# ---- 2. physical floor ---------------------------------------------------------------------

size=$(stat -c %s "$TARBALL")
size_mb=$(calc "$size / 1048576")
echo
echo "== physical floor: $TARBALL ($size_mb MiB), best of 3, warm page cache"
cat "$TARBALL" >/dev/null # warm up
t_cat=$(best_of 3 cat_floor "$TARBALL")
t_tar=$(best_of 3 tar_floor "$TARBALL")
printf '%-50s %8.4f s  %8.0f MiB/s\n' "cat TARBALL > /dev/null" "$t_cat" "$(calc "$size_mb / $t_cat")"
printf '%-50s %8.4f s  %8.0f MiB/s\n' "tar -tf TARBALL > /dev/null" "$t_tar" "$(calc "$size_mb / $t_tar")"
t_xof=$(best_of 3 tar_read "$TARBALL")
printf '%-50s %8.4f s  %8.0f MiB/s  (reference: every byte through tar)\n' "tar -xOf TARBALL > /dev/null" "$t_xof" \
  "$(calc "$size_mb / $t_xof")"
if t_save=$(best_of 3 engine_save "$IMAGE_NAME" 2>/dev/null); then
  printf '%-50s %8.4f s  (reference: the engine path)\n' "docker save $IMAGE_NAME > /dev/null" "$t_save"
else
  t_save=""
  echo "docker save $IMAGE_NAME failed"
fi

# ---- 3. database import --------------------------------------------------------------------

DB="$TMP/adv.db"
IMPORT=("$SHARED/advisories/osv/rust" "$SHARED/advisories/osv/Go" crates/moat/tests/fixtures/scan/debian12)
echo
echo "== moat db import --db \$TMP/adv.db ${IMPORT[*]}  (best of 3)"
t_import=$(best_of 3 moat_quiet db import --db "$DB" "${IMPORT[@]}")
printf '%-50s %8.4f s\n' "moat db import" "$t_import"
info=$("$MOAT" db info --db "$DB")
records=$(awk '/ records/ { for (i = 1; i < NF; i++) if ($(i + 1) ~ /^records/) n += $i } END { print n + 0 }' <<<"$info")
echo "records imported (sum over sources in moat db info): $records"
"$MOAT" db info --db "$DB" | sed 's/^/  | /'

# ---- 4. scan -------------------------------------------------------------------------------

echo
echo "== moat scan --db \$TMP/adv.db -f json -o /dev/null TARBALL  (best of 5, warm database)"
scan_to "$TMP/image.json" "$TARBALL" # warm-up, and the report whose counts are printed below
t_scan=$(best_of 5 moat_quiet scan --db "$DB" -f json -o /dev/null "$TARBALL")
rc=0
/usr/bin/time -v -o "$TMP/time.txt" "$MOAT" scan --db "$DB" -f json -o /dev/null "$TARBALL" \
  >/dev/null 2>&1 || rc=$?
[ "$rc" -le 1 ] || {
  echo "moat scan failed under /usr/bin/time (exit $rc)" >&2
  exit 1
}
rss_kb=$(awk -F': *' '/Maximum resident set size/ { print $2 }' "$TMP/time.txt")
cpu_s=$(awk -F': *' '/User time|System time/ { t += $2 } END { printf "%.2f", t }' "$TMP/time.txt")
rss_mb=$(calc "$rss_kb / 1024")
r_cat=$(calc "$t_scan / $t_cat")
r_tar=$(calc "$t_scan / $t_tar")
jq -r '"found: \(.packages | length) packages, \(.vulnerabilities | length) vulnerabilities, " +
  "\(.secrets | length) secrets, \(.target.layers | length) layers, os \(.os.id // .os.name // "?") \(.os.version_id // .os.version // "")"' \
  "$TMP/image.json" 2>/dev/null || echo "found: (could not read the JSON report)"

printf '%-50s %8.4f s   target <= 1 s: %s\n' "scan, docker-save tarball" "$t_scan" "$(verdict "$t_scan <= 1")"
printf '%-50s %8.1f MB  target <= 100 MB: %s\n' "peak RSS (Maximum resident set size)" "$rss_mb" \
  "$(verdict "$rss_mb <= 100")"
printf '%-50s %8.2fx   target <= 2x: %s\n' "scan / cat floor" "$r_cat" "$(verdict "$r_cat <= 2")"
printf '%-50s %8.2fx   target <= 2x: %s\n' "scan / tar floor" "$r_tar" "$(verdict "$r_tar <= 2")"
printf '%-50s %8.2fx\n' "scan / tar -xOf (reference)" "$(calc "$t_scan / $t_xof")"
echo "CPU time of the /usr/bin/time run (user + system): $cpu_s s"

other_scan() { # LABEL SCAN-ARGS... (the image last)
  local label=$1 t
  shift
  if t=$(best_of 5 moat_quiet scan --db "$DB" -f json -o /dev/null "$@" 2>/dev/null); then
    printf '%-50s %8.4f s   (%.2fx the tarball)\n' "$label" "$t" "$(calc "$t / $t_scan")"
    if [ "${*: -1}" = "$IMAGE_NAME" ] && [ -n "$t_save" ]; then
      printf '%-50s %8.2fx\n' "  engine scan / docker save" "$(calc "$t / $t_save")"
    fi
  else
    printf '%-50s %s\n' "$label" "failed: $("$MOAT" scan --db "$DB" -f json -o /dev/null "$@" 2>&1 | tail -n 1)"
  fi
}
other_scan "scan --no-secrets, docker-save tarball" --no-secrets "$TARBALL"
other_scan "scan, engine name $IMAGE_NAME" "$IMAGE_NAME"
other_scan "scan, OCI layout (gzip layers)" "$OUT/debian-api.oci"
other_scan "scan, oci-archive (zstd layers)" "$OUT/debian-api.oci.tar"

# ---- 5. agreement with cargo-audit ---------------------------------------------------------

echo
echo "== agreement with cargo-audit on Cargo.lock files"
if [ ! -x "$CARGO_AUDIT" ]; then
  echo "skipped: no cargo-audit at $CARGO_AUDIT (set CARGO_AUDIT, or: cargo install cargo-audit --locked)"
  exit 0
fi
echo "cargo-audit: $("$CARGO_AUDIT" --version 2>/dev/null | head -n 1), database $RUSTSEC_DB"

LOCKS="$TMP/locks"
mkdir -p "$LOCKS"
add_lock() { # LABEL FILE-OR-STDIN
  mkdir -p "$LOCKS/$1/tree"
  cat "${2:--}" >"$LOCKS/$1/tree/Cargo.lock"
}
add_lock debian-api-fixture crates/moat/tests/fixtures/scan/debian-api/worker.Cargo.lock
add_lock moat Cargo.lock
for entry in "${MIRROR_LOCKS[@]}"; do
  read -r project tag <<<"$entry"
  gitdir="$MIRRORS/${project/\//+}/repo"
  [ -d "$gitdir" ] || gitdir="$MIRRORS/${project/\//+}"
  label="${project#*/}-$tag"
  if git --git-dir="$gitdir" show "refs/tags/$tag:Cargo.lock" 2>/dev/null | add_lock "$label"; then
    :
  else
    rm -rf "${LOCKS:?}/$label"
    echo "skipped $project $tag: no mirror at $MIRRORS/${project/\//+} (or no Cargo.lock at that tag)"
  fi
done

# TSV rows: category <tab> lock <tab> advisory id <tab> crate <tab> version
# (jq variables in single quotes, not shell ones)
# shellcheck disable=SC2016
# moat: the RustSec id (the record's id, or a RUSTSEC- alias); crates.io findings only.
jq_moat='.vulnerabilities[] | select(.ecosystem == "crates.io")
  | ([.id] + (.aliases // []) | map(select(startswith("RUSTSEC-"))) | first) as $rid
  | [(if .informational == null then "vulnerability" else "informational" end),
     $lock, ($rid // .id), .package, .version] | @tsv'
# shellcheck disable=SC2016
# cargo-audit: vulnerabilities.list, and the warnings that carry an advisory (not yanked).
jq_audit='(.vulnerabilities.list[] | ["vulnerability", $lock, .advisory.id, .package.name, .package.version]),
  (.warnings // {} | to_entries[] | select(.key != "yanked") | .value[] | select(.advisory != null)
   | ["informational", $lock, .advisory.id, .package.name, .package.version])
  | @tsv'

: >"$TMP/audit.tsv"
: >"$TMP/moat.tsv"
printf '%-26s %8s %14s %14s %10s %10s\n' lock crates "audit vulns" "moat vulns" "audit info" "moat info"
for dir in "$LOCKS"/*/; do
  label=$(basename "$dir")
  lock="$dir/tree/Cargo.lock"
  rc=0
  "$CARGO_AUDIT" audit --db "$RUSTSEC_DB" --no-fetch --stale --json --file "$lock" \
    >"$dir/audit.json" 2>"$dir/audit.stderr" || rc=$?
  if [ "$rc" -gt 1 ] || ! jq -e . "$dir/audit.json" >/dev/null 2>&1; then
    echo "cargo-audit failed on $label (exit $rc):" >&2
    cat "$dir/audit.stderr" >&2
    exit 1
  fi
  scan_to "$dir/moat.json" --rootfs "$dir/tree"
  jq -r --arg lock "$label" "$jq_audit" "$dir/audit.json" | sort -u >"$dir/audit.tsv"
  jq -r --arg lock "$label" "$jq_moat" "$dir/moat.json" | sort -u >"$dir/moat.tsv"
  cat "$dir/audit.tsv" >>"$TMP/audit.tsv"
  cat "$dir/moat.tsv" >>"$TMP/moat.tsv"
  printf '%-26s %8s %14s %14s %10s %10s\n' "$label" "$(grep -c '^name = ' "$lock")" \
    "$(grep -c '^vulnerability' "$dir/audit.tsv" || true)" "$(grep -c '^vulnerability' "$dir/moat.tsv" || true)" \
    "$(grep -c '^informational' "$dir/audit.tsv" || true)" "$(grep -c '^informational' "$dir/moat.tsv" || true)"
done

echo
echo "compared as sets of (advisory id, crate, version) per lock file, like with like:"
echo "  vulnerability: cargo-audit .vulnerabilities.list vs moat's crates.io findings with informational null"
echo "  informational: cargo-audit .warnings unmaintained/unsound/notice (with an advisory) vs moat's"
echo "                 findings with informational set; yanked warnings are not compared (moat has none)"
sort -u -o "$TMP/audit.tsv" "$TMP/audit.tsv"
sort -u -o "$TMP/moat.tsv" "$TMP/moat.tsv"
total_both=0
total_union=0
printf '%-14s %8s %8s %8s %8s %10s\n' category audit moat both union agreement
for kind in vulnerability informational; do
  a=$(grep -c "^$kind" "$TMP/audit.tsv" || true)
  m=$(grep -c "^$kind" "$TMP/moat.tsv" || true)
  b=$(comm -12 "$TMP/audit.tsv" "$TMP/moat.tsv" | grep -c "^$kind" || true)
  u=$((a + m - b))
  total_both=$((total_both + b))
  total_union=$((total_union + u))
  pct=$(if [ "$u" -eq 0 ]; then echo 100.0; else calc "100 * $b / $u"; fi)
  printf '%-14s %8d %8d %8d %8d %9.1f%%\n' "$kind" "$a" "$m" "$b" "$u" "$pct"
done
pct=$(if [ "$total_union" -eq 0 ]; then echo 100.0; else calc "100 * $total_both / $total_union"; fi)
printf '%-14s %35s %8d %9.1f%%\n' "all" "" "$total_union" "$pct"
echo "(agreement = findings both report / findings either reports)"

echo
disagreements=0
while IFS=$'\t' read -r kind label id crate version; do
  echo "only cargo-audit: $label  $kind  $id  $crate $version"
  disagreements=$((disagreements + 1))
done < <(comm -23 "$TMP/audit.tsv" "$TMP/moat.tsv")
while IFS=$'\t' read -r kind label id crate version; do
  echo "only moat:        $label  $kind  $id  $crate $version"
  disagreements=$((disagreements + 1))
done < <(comm -13 "$TMP/audit.tsv" "$TMP/moat.tsv")
echo "disagreements: $disagreements"
