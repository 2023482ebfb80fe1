"""Driver for bench/real-world.sh (see there). Standard library only.

Environment (set by the shell script): MOAT, HADOLINT and COMPOSE_LINT (a peer that is empty
is reported as skipped), DOCKER_COMPOSE (optional), OUT (results folder), TIMEOUT (seconds per
tool call), SAMPLE_PER_REPO, JUDGED (a real-world.md whose sample table is re-checked).
"""
import json
import os
import re
import subprocess
import sys
import time
from collections import Counter, defaultdict

SEVERITIES = ["critical", "high", "medium", "low", "info"]
AT_LEAST_MEDIUM = {"critical", "high", "medium"}
TIMEOUT = int(os.environ.get("TIMEOUT", "120"))
PER_REPO = int(os.environ.get("SAMPLE_PER_REPO", "10"))

# The commits of the baseline in bench/real-world.md; another commit is reported, since its
# figures are then not comparable with the baseline's.
BASELINE_COMMITS = {
    "docker-mailserver": "c9b015ddc869b277c16dd20ef4a70e595c72d022",
    "full-stack-fastapi-template": "68adb40d37425f6f8668ec7e5a054500d045e43e",
    "healthchecks": "29b5ec251059034b79e0120e2ff0c3e35d7bd9f8",
    "mailcow-dockerized": "06424670fa5d60fee851f58bfc49f66086d5f0a6",
    "netbox-docker": "27bf52cf3ea882324273fbabbf23f0af6a194f12",
    "nextcloud-docker": "4de1eed65a44c61ecce601ef1d27abd2059b52e6",
    "paperless-ngx": "b0e0e8a35373a5d9d588a507cb63c79e50a23403",
    "self-hosted": "89a143f8e4d396a858cf6f462a832ae7da9fd2db",
    "vaultwarden": "46d71107f5094460dd5ecbe1dbac6e6c71e5189a",
}

# --- which files moat audits: the naming rules of README.md ("In a directory, these files are
# audited"), mirrored here so the peers get the same files; the counts are checked against
# moat's own summary.files and a difference is printed.
VCS_DIRS = {".git", ".hg", ".svn", ".bzr", "_darcs", ".jj", ".pijul", ".sl"}
NOT_DOCKERFILE_EXT = set(
    "md markdown txt rst adoc html htm pdf json jsonc dict yml yaml toml xml csv ini cfg conf "
    "lock log png jpg jpeg gif svg sh bash zsh fish ps1 bat cmd py go rs js mjs cjs ts jsx tsx "
    "java kt scala groovy rb php pl c h cc cpp hpp cs swift lua vim el sql nix tf hcl mk gradle "
    "diff patch orig rej bak swp swo tmp snap dockerignore gitignore".split())
TEMPLATE_EXT = set("j2 jinja jinja2 tpl tmpl template gotmpl erb in mustache hbs".split())
SEP = ".-_"


def is_compose(name):
    low = name.lower()
    for ext in (".yaml", ".yml"):
        if low.endswith(ext):
            stem = low[: -len(ext)]
            break
    else:
        return False
    def variant(main):
        return stem.startswith(main) and len(stem) > len(main) and stem[len(main)] in SEP
    return stem.endswith("compose") or variant("compose") or variant("docker-compose")


def is_script(name):
    low = name.lower()
    return (low.endswith((".sh", ".bash", ".mk"))
            or name in ("Makefile", "makefile", "GNUmakefile"))


def is_dockerfile(name):
    low = name.lower()
    if low.endswith("~"):
        return False
    for main in ("dockerfile", "containerfile"):
        if low == main:
            return True
        rest = low[len(main):]
        if low.startswith(main) and len(rest) > 1 and rest[0] in SEP:
            return not ("." in rest and rest.rsplit(".", 1)[1] in NOT_DOCKERFILE_EXT)
        head = low[: -len(main)]
        if low.endswith(main) and len(head) > 1 and head[-1] in SEP:
            return True
    return False


def kind_in_tree(rel):
    parts = rel.split("/")
    name = parts[-1]
    if any(p in TEMPLATE_EXT for p in name.lower().split(".")[1:]):
        return None
    if is_compose(name):
        in_workflows = (len(parts) >= 3 and parts[-2] == "workflows"
                        and parts[-3] in (".github", ".gitea", ".forgejo"))
        return None if in_workflows else "compose"
    if name.lower() == "daemon.json":
        return "daemon"
    if is_script(name):
        return "script"
    return "dockerfile" if is_dockerfile(name) else None


def repo_files(repo):
    """Tracked files and untracked ones no ignore file excludes (git), or every file."""
    proc = subprocess.run(["git", "-C", repo, "ls-files", "-z", "--cached", "--others",
                           "--exclude-standard"], capture_output=True)
    if proc.returncode == 0:
        rels = sorted({p.decode("utf-8", "replace") for p in proc.stdout.split(b"\0") if p})
    else:
        rels = []
        for dirpath, dirnames, filenames in os.walk(repo):
            dirnames[:] = [d for d in dirnames if d not in VCS_DIRS]
            rels += [os.path.relpath(os.path.join(dirpath, f), repo) for f in filenames]
        rels.sort()
    # symbolic links are not followed (moat skips them: the file they name is audited itself)
    return [r for r in rels if not VCS_DIRS & set(r.split("/")[:-1])
            and os.path.isfile(os.path.join(repo, r))
            and not os.path.islink(os.path.join(repo, r))]


def default_compose_files(directory):
    """The main compose file of a directory and its .override file, as docker compose loads."""
    for stem, ext in (("compose", "yaml"), ("compose", "yml"),
                      ("docker-compose", "yml"), ("docker-compose", "yaml")):
        main = os.path.join(directory, f"{stem}.{ext}")
        if os.path.isfile(main):
            for e in (ext, "yaml" if ext == "yml" else "yml"):
                o = os.path.join(directory, f"{stem}.override.{e}")
                if os.path.isfile(o):
                    return [main, o]
            return [main]
    return []


def discover(repo):
    files = defaultdict(list)
    for rel in repo_files(repo):
        kind = kind_in_tree(rel)
        if kind:
            files[kind].append(rel)
    # compose units: a main file with its .override file, or a file alone
    units, merged = [], set()
    for rel in files["compose"]:
        group = default_compose_files(os.path.join(repo, os.path.dirname(rel)))
        if len(group) == 2 and os.path.basename(group[0]) == os.path.basename(rel):
            merged.add(os.path.relpath(group[1], repo))
    for rel in files["compose"]:
        if rel in merged:
            continue
        group = default_compose_files(os.path.join(repo, os.path.dirname(rel)))
        if group and os.path.basename(group[0]) == os.path.basename(rel):
            units.append([os.path.relpath(g, repo) for g in group])
        else:
            units.append([rel])
    return files, units


# --- running tools
def clean_env():
    """The same small environment for every tool: nothing of the caller's shell leaks into
    compose interpolation."""
    keep = {k: os.environ[k] for k in ("PATH", "HOME", "TMPDIR") if k in os.environ}
    keep.update(LANG="C.UTF-8", LC_ALL="C.UTF-8", NO_COLOR="1")
    return keep


def run(cmd, cwd=None):
    """(returncode or 'timeout', stdout, stderr, seconds)"""
    start = time.perf_counter()
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, errors="replace", cwd=cwd,
                           env=clean_env(), timeout=TIMEOUT)
        return p.returncode, p.stdout, p.stderr, time.perf_counter() - start
    except subprocess.TimeoutExpired:
        return "timeout", "", f"timed out after {TIMEOUT} s", time.perf_counter() - start
    except OSError as e:
        return "error", "", str(e), time.perf_counter() - start


ENTRY = re.compile(r"^(critical|high|medium|low|info)\[")
SUMMARY = re.compile(r"^(\d+) findings? in (\d+) entr")


def text_entries(text):
    """Entries a reader sees in the text report (a grouped entry counts once), and the
    entry count of the summary line when it has one."""
    entries = sum(1 for line in text.splitlines() if ENTRY.match(line))
    summary = None
    for line in text.splitlines():
        m = SUMMARY.match(line)
        if m:
            summary = int(m.group(2))
    return entries, summary


def rel(path, repo):
    return os.path.relpath(path, repo) if os.path.isabs(path) else path


def moat_repo(moat, repo, out):
    name = os.path.basename(repo)
    rc, stdout, stderr, secs = run([moat, "audit", repo, "--format", "json"], cwd=out)
    with open(os.path.join(out, "moat", f"{name}.json"), "w") as f:
        f.write(stdout)
    try:
        report = json.loads(stdout)
    except ValueError:
        report = {"findings": [], "errors": [{"path": repo, "message":
                  f"no JSON (exit {rc}): {stderr.strip()[-300:]}"}], "summary": {}}
    trc, text, _, _ = run([moat, "audit", repo, "--no-color"], cwd=out)
    with open(os.path.join(out, "moat", f"{name}.txt"), "w") as f:
        f.write(text)
    entries, summary_entries = text_entries(text)
    return {"rc": rc, "seconds": secs, "report": report, "text_rc": trc,
            "entries": entries, "summary_entries": summary_entries}


def hadolint_repo(hadolint, repo, dockerfiles, out):
    if not hadolint:
        return None
    findings, failures = [], []
    for relpath in dockerfiles:
        rc, stdout, stderr, _ = run([hadolint, "--no-fail", "-f", "json",
                                     os.path.join(repo, relpath)], cwd=out)
        try:
            items = json.loads(stdout)
        except ValueError:
            failures.append({"file": relpath, "message": f"exit {rc}: {stderr.strip()[-200:]}"})
            continue
        for item in items:
            item["file"] = relpath
            if item.get("code") == "DL1000":
                failures.append({"file": relpath, "message": item.get("message", "")})
            else:
                findings.append(item)
    with open(os.path.join(out, "hadolint", f"{os.path.basename(repo)}.json"), "w") as f:
        json.dump({"findings": findings, "failures": failures}, f, indent=1)
    return {"findings": findings, "failures": failures}


def compose_lint_repo(compose_lint, repo, units, out):
    if not compose_lint:
        return None
    findings, failures = [], []
    for unit in units:
        relpath = unit[0]
        rc, stdout, stderr, _ = run([compose_lint, "check", "--format", "json",
                                     os.path.join(repo, relpath)], cwd=out)
        try:
            report = json.loads(stdout)
        except ValueError:
            failures.append({"file": relpath, "message": f"exit {rc}: {stderr.strip()[-200:]}"})
            continue
        for item in report.get("findings", []):
            item["unit"] = relpath
            findings.append(item)
        for err in report.get("errors", []):
            failures.append({"file": relpath, "message": err.get("message", "")})
    with open(os.path.join(out, "compose-lint", f"{os.path.basename(repo)}.json"), "w") as f:
        json.dump({"findings": findings, "failures": failures}, f, indent=1)
    return {"findings": findings, "failures": failures}


def yaml_parses(docker_compose, path):
    """Whether the YAML parser docker-compose uses (PyYAML, in docker-compose's interpreter)
    loads the file: separates YAML errors from the compose-schema errors of docker-compose
    1.29, which predates parts of the current Compose Specification."""
    try:
        with open(docker_compose, encoding="utf-8", errors="replace") as f:
            shebang = f.readline()
    except OSError:
        return "skipped"
    python = shebang[2:].strip().split() if shebang.startswith("#!") else []
    if not python or "python" not in python[-1]:
        return "skipped"
    code = "import sys, yaml\nyaml.safe_load(open(sys.argv[1], encoding='utf-8'))\n"
    rc, _, stderr, _ = run(python + ["-c", code, path])
    if rc == 0:
        return "parses"
    last = [ln for ln in stderr.splitlines() if ln.strip()]
    return "skipped" if "ModuleNotFoundError" in stderr else (
        "fails: " + (last[-1][:120] if last else str(rc)))


def compose_accepts(docker_compose, repo, relpath, units):
    """Whether `docker-compose config` accepts the compose file (with the .override file that
    moat merges with it), run in the file's folder; (verdict, its last message line)."""
    if not docker_compose:
        return "skipped", "docker-compose not found"
    unit = next((u for u in units if relpath in u), [relpath])
    directory = os.path.join(repo, os.path.dirname(unit[0]))
    cmd = [docker_compose]
    for f in unit:
        cmd += ["-f", os.path.basename(f)]
    rc, stdout, stderr, _ = run(cmd + ["config", "-q"], cwd=directory)
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
    note = lines[-1] if lines else ""
    if rc == 0:
        warn = [ln for ln in lines if "WARN" in ln or "not set" in ln]
        return "accepts", (warn[0] if warn else "")
    return ("rejects" if isinstance(rc, int) else str(rc)), note


# --- the judged sample
def sample(rows):
    """Part A, for the precision: up to PER_REPO findings (>= medium) per repo, evenly spaced
    over the repo's findings sorted by (file, line, column, code): index floor((i + 0.5) * n / k),
    i = 0..k-1. Part B, for the rules part A misses: for every code with no finding in part A,
    the middle one of its findings sorted by (repo, file, line, column)."""
    key = lambda r: (r["repo"], r["file"], r["line"], r["column"], r["code"])
    by_repo = defaultdict(list)
    for r in rows:
        by_repo[r["repo"]].append(r)
    part_a = []
    for repo in sorted(by_repo):
        items = sorted(by_repo[repo], key=key)
        n = len(items)
        k = min(n, PER_REPO)
        part_a += [items[int((i + 0.5) * n / k)] for i in range(k)]
    seen = {r["code"] for r in part_a}
    by_code = defaultdict(list)
    for r in rows:
        if r["code"] not in seen:
            by_code[r["code"]].append(r)
    part_b = []
    for code in sorted(by_code):
        items = sorted(by_code[code], key=key)
        part_b.append(items[len(items) // 2])
    return [(f"A{i}", r) for i, r in enumerate(part_a, 1)] + \
           [(f"B{i}", r) for i, r in enumerate(part_b, 1)]


JUDGED_ROW = re.compile(
    r"^\|\s*([AB]\d+)\s*\|\s*([^|]+?)\s*\|\s*`?([^|`]+?):(\d+)`?\s*\|\s*(\w+)\s*\|.*\|\s*"
    r"(TRUE|FALSE|DEBATABLE)\s*\|[^|]*\|\s*$")


def recheck(judged_md, all_rows):
    """Compares the judged sample of a real-world.md with this run's findings."""
    try:
        lines = open(judged_md, encoding="utf-8").read().splitlines()
    except OSError:
        return
    judged = [JUDGED_ROW.match(ln) for ln in lines]
    judged = [m.groups() for m in judged if m]
    if not judged:
        return
    at = defaultdict(list)
    for r in all_rows:
        at[(r["repo"], r["file"], r["code"])].append(r)
    counts = Counter()
    notes = []
    for idx, repo, path, line, code, verdict in judged:
        same = at.get((repo, path, code), [])
        exact = [r for r in same if r["line"] == int(line)]
        if exact:
            state = "kept" if exact[0]["severity"] in AT_LEAST_MEDIUM else "lowered"
        elif same:
            state = "moved"
        else:
            state = "gone"
        counts[(verdict, state)] += 1
        if (verdict == "TRUE" and state != "kept") or (verdict == "FALSE" and state == "kept"):
            notes.append(f"  #{idx} {verdict} {repo} {path}:{line} {code}: {state}"
                         + (f" (now at line {', '.join(str(r['line']) for r in same)})"
                            if state == "moved" else ""))
    print()
    print(f"## Judged sample of {judged_md}, re-checked against this run")
    print()
    print("| verdict | judged | still reported (>= medium, same line) | lowered below medium | "
          "moved to another line | gone |")
    print("|---|---|---|---|---|---|")
    for verdict in ("TRUE", "FALSE", "DEBATABLE"):
        total = sum(v for (vd, _), v in counts.items() if vd == verdict)
        print(f"| {verdict} | {total} | {counts[(verdict, 'kept')]} | "
              f"{counts[(verdict, 'lowered')]} | {counts[(verdict, 'moved')]} | "
              f"{counts[(verdict, 'gone')]} |")
    if notes:
        print()
        print("TRUE findings no longer reported as before, and FALSE ones still reported:")
        print("\n".join(notes))


def main():
    root = os.path.abspath(sys.argv[1])
    out = os.environ["OUT"]
    moat = os.environ["MOAT"]
    hadolint = os.environ.get("HADOLINT", "")
    compose_lint = os.environ.get("COMPOSE_LINT", "")
    docker_compose = os.environ.get("DOCKER_COMPOSE", "")
    for sub in ("moat", "hadolint", "compose-lint"):
        os.makedirs(os.path.join(out, sub), exist_ok=True)
    repos = sorted(os.path.join(root, d) for d in os.listdir(root)
                   if os.path.isdir(os.path.join(root, d)) and not d.startswith("."))
    if not repos:
        sys.exit(f"no repositories under {root}")

    def version(cmd):
        if not cmd[0]:
            return "skipped (not installed)"
        rc, stdout, stderr, _ = run(cmd)
        return (stdout or stderr).strip().splitlines()[0] if rc == 0 else f"unavailable ({rc})"

    print(f"- date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print(f"- moat: {version([moat, '--version'])} ({moat})")
    print(f"- hadolint: {version([hadolint, '--version'])}")
    print(f"- compose-lint: {version([compose_lint, '--version'])}")
    print(f"- docker-compose: {version([docker_compose, 'version', '--short'])}")
    print(f"- checkouts: {root}; results: {out}")
    print()

    results, all_rows, error_rows, mismatches = [], [], [], []
    print("| repo | commit | Dockerfiles | compose files (units) | scripts | daemon.json | "
          "moat critical/high/medium/low/info | moat input errors | text entries | "
          "hadolint findings | hadolint parse failures | compose-lint findings | "
          "compose-lint failures | moat s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for repo in repos:
        name = os.path.basename(repo)
        p = subprocess.run(["git", "-C", repo, "rev-parse", "HEAD"], capture_output=True,
                           text=True)
        commit = p.stdout.strip() if p.returncode == 0 else "(not git)"
        if name in BASELINE_COMMITS and commit != BASELINE_COMMITS[name]:
            mismatches.append(f"{name}: {commit} (baseline {BASELINE_COMMITS[name]})")
        files, units = discover(repo)
        m = moat_repo(moat, repo, out)
        report = m["report"]
        sev = Counter(f["severity"] for f in report["findings"])
        for f in report["findings"]:
            loc = f["location"]
            all_rows.append({"repo": name, "file": rel(loc["path"], repo), "line": loc["line"],
                             "column": loc.get("column", 0), "code": f["code"],
                             "severity": f["severity"], "message": f["message"]})
        errors = report.get("errors", [])
        for e in errors:
            relpath = rel(e["path"], repo)
            kind = kind_in_tree(relpath)
            if kind == "compose":
                verdict, note = compose_accepts(docker_compose, repo, relpath, units)
                parses = yaml_parses(docker_compose, os.path.join(repo, relpath))
            else:
                what = {"dockerfile": "a Dockerfile", "script": "a script",
                        "daemon": "a daemon.json"}.get(kind, "not a compose file")
                verdict, note, parses = "n/a", what, "n/a"
            error_rows.append((name, relpath, e.get("line"), e.get("message", ""), verdict,
                               note, parses))
        counted = report.get("summary", {}).get("files", {})
        ours = {"dockerfile": len(files["dockerfile"]), "script": len(files["script"]),
                "daemon": len(files["daemon"]), "compose": len(files["compose"])}
        for kind, n in ours.items():
            if kind in counted and counted[kind] != n:
                mismatches.append(f"{name}: {kind} files: moat audited {counted[kind]}, "
                                  f"this script found {n} (peers get this script's list)")
        if m["summary_entries"] is not None and m["summary_entries"] != m["entries"]:
            mismatches.append(f"{name}: text report summary says {m['summary_entries']} "
                              f"entries, {m['entries']} entry lines counted")
        h = hadolint_repo(hadolint, repo, files["dockerfile"], out)
        c = compose_lint_repo(compose_lint, repo, units, out)
        results.append({"repo": name, "commit": commit, "files": ours, "units": len(units),
                        "moat_rc": m["rc"], "severity": dict(sev), "errors": errors,
                        "entries": m["entries"], "findings": len(report["findings"]),
                        "hadolint": h and {"findings": len(h["findings"]),
                                           "failures": h["failures"]},
                        "compose_lint": c and {"findings": len(c["findings"]),
                                               "failures": c["failures"]},
                        "moat_seconds": m["seconds"]})
        def peer(x, key):
            return "skipped" if x is None else str(len(x[key]))
        print(f"| {name} | {commit[:12]} | {ours['dockerfile']} | {ours['compose']} "
              f"({len(units)}) | {ours['script']} | {ours['daemon']} | "
              f"{'/'.join(str(sev.get(s, 0)) for s in SEVERITIES)} | {len(errors)} | "
              f"{m['entries']} | {peer(h, 'findings')} | {peer(h, 'failures')} | "
              f"{peer(c, 'findings')} | {peer(c, 'failures')} | {m['seconds']:.2f} |")

    tot = Counter()
    for r in results:
        for s, n in r["severity"].items():
            tot[s] += n
    med = sum(tot[s] for s in AT_LEAST_MEDIUM)
    print()
    print(f"- total: {sum(tot.values())} moat findings "
          f"({', '.join(f'{s} {tot[s]}' for s in SEVERITIES)}), {med} at medium or higher, "
          f"{sum(r['entries'] for r in results)} text-report entries, "
          f"{sum(len(r['errors']) for r in results)} input errors")
    print("- findings >= medium per code: " + ", ".join(
        f"{k} {v}" for k, v in sorted(Counter(
            r["code"] for r in all_rows if r["severity"] in AT_LEAST_MEDIUM).items())))
    if mismatches:
        print()
        print("Notes:")
        for line in mismatches:
            print(f"- {line}")
    hadolint_failures = [(r["repo"], f) for r in results if r["hadolint"]
                         for f in r["hadolint"]["failures"]]
    cl_failures = [(r["repo"], f) for r in results if r["compose_lint"]
                   for f in r["compose_lint"]["failures"]]
    print()
    print("## moat input errors, and whether docker-compose config accepts the file")
    print()
    if error_rows:
        print("| repo | file:line | moat's message | docker-compose config | its message | "
              "YAML (docker-compose's parser) |")
        print("|---|---|---|---|---|---|")
        for name, relpath, line, msg, verdict, note, parses in error_rows:
            print(f"| {name} | {relpath}:{line or ''} | {msg} | {verdict} | {note[:300]} | "
                  f"{parses} |")
    else:
        print("none")
    for title, rows in (("hadolint parse failures", hadolint_failures),
                        ("compose-lint failures", cl_failures)):
        print()
        print(f"## {title}")
        print()
        for name, f in rows:
            print(f"- {name} {f['file']}: {f['message'][:200]}")
        if not rows:
            print("none")

    picked = sample([r for r in all_rows if r["severity"] in AT_LEAST_MEDIUM])
    with open(os.path.join(out, "sample.tsv"), "w") as f:
        f.write("#\trepo\tfile:line\tcode\tseverity\tmessage\n")
        for i, r in picked:
            f.write(f"{i}\t{r['repo']}\t{r['file']}:{r['line']}\t{r['code']}\t"
                    f"{r['severity']}\t{r['message']}\n")
    with open(os.path.join(out, "findings.json"), "w") as f:
        json.dump(all_rows, f, indent=1)
    with open(os.path.join(out, "summary.json"), "w") as f:
        json.dump({"repos": results, "input_errors": [
            dict(zip(("repo", "file", "line", "message", "docker_compose", "note", "yaml"), e))
            for e in error_rows]}, f, indent=1)
    print()
    part_a = sum(1 for i, _ in picked if i.startswith("A"))
    print(f"- sample for judging, in {out}/sample.tsv: part A {part_a} findings >= medium (up "
          f"to {PER_REPO} per repo, evenly spaced by file/line/column/code), part B "
          f"{len(picked) - part_a} (one for each code part A lacks); all findings in "
          f"{out}/findings.json")
    judged = os.environ.get("JUDGED", "")
    if judged:
        recheck(judged, all_rows)


if __name__ == "__main__":
    main()
