"""Driver for bench/harden.sh (see there). Standard library, plus PyYAML (which the peers
need anyway) to check that the fixed files still parse as YAML."""
import difflib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter

import yaml

REPEAT = int(os.environ.get("REPEAT", "5"))
SEVERITIES = ("critical", "high", "medium", "low", "info")


def tools(moat, compose_lint, compose_harden):
    """(name, argv for one run over files, whether one process may take every file)."""
    return [
        ("moat harden --unsafe", lambda fs: [moat, "harden", "--write", "--unsafe", *fs], True),
        ("moat harden (safe)", lambda fs: [moat, "harden", "--write", *fs], True),
        ("compose-lint fix", lambda fs: [compose_lint, "fix", "--apply", *fs], True),
        # one file per process: its command line takes one COMPOSE_FILE
        ("compose-harden fix",
         lambda fs: [compose_harden, "fix", "--in-place", "--no-audit", *fs], False),
    ]


def lay_out(corpus_files, dest):
    """Fresh copies, one folder per file (so no file sits beside another's override or .env)."""
    if os.path.exists(dest):
        shutil.rmtree(dest)
    paths = []
    for src in corpus_files:
        d = os.path.join(dest, os.path.splitext(os.path.basename(src))[0])
        os.makedirs(d)
        paths.append(shutil.copy(src, d))
    return paths


def copy_tree(src_paths, dest):
    if os.path.exists(dest):
        shutil.rmtree(dest)
    paths = []
    for p in src_paths:
        d = os.path.join(dest, os.path.basename(os.path.dirname(p)))
        os.makedirs(d)
        paths.append(shutil.copy(p, d))
    return paths


def drop_backups(paths):
    for p in paths:
        if os.path.exists(p + ".bak"):
            os.remove(p + ".bak")


def run_tool(argv_of, batch, paths):
    """Runs the tool over paths (one process, or one per file); (seconds, [(argv, proc)])."""
    groups = [paths] if batch else [[p] for p in paths]
    runs = []
    start = time.perf_counter()
    for g in groups:
        argv = argv_of(g)
        runs.append((argv, subprocess.run(argv, check=False, capture_output=True, text=True)))
    elapsed = time.perf_counter() - start
    drop_backups(paths)
    return elapsed, runs


def read(p):
    with open(p, encoding="utf-8", errors="surrogateescape") as f:
        return f.read()


class StrictLoader(yaml.SafeLoader):
    """safe_load that refuses a key given twice in one mapping, as Docker Compose v2 does
    (PyYAML, and so docker-compose 1.29, keep the last value silently)."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            if not isinstance(key, (str, int, float, bool)):
                continue
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep)


def yaml_ok(p, loader=yaml.SafeLoader):
    try:
        with open(p, encoding="utf-8") as f:
            yaml.load(f, Loader=loader)  # a SafeLoader or StrictLoader
        return True
    except (yaml.YAMLError, UnicodeDecodeError):
        return False


def config_ok(docker_compose, p):
    """`docker-compose config -q` on a copy of p beside empty build contexts and env files
    (the corpus has the compose files alone, and config refuses a build path that is not
    there)."""
    with tempfile.TemporaryDirectory() as d:
        shutil.copy(p, d)
        try:
            with open(p, encoding="utf-8") as f:
                doc = yaml.safe_load(f)
        except (yaml.YAMLError, UnicodeDecodeError):
            doc = None
        services = doc.get("services") if isinstance(doc, dict) else None
        for svc in (services or {}).values():
            if not isinstance(svc, dict):
                continue
            build = svc.get("build")
            ctx = build.get("context", ".") if isinstance(build, dict) else build
            if isinstance(ctx, str) and "://" not in ctx and not os.path.isabs(ctx):
                os.makedirs(os.path.join(d, ctx), exist_ok=True)
            env_files = svc.get("env_file") or []
            for e in [env_files] if isinstance(env_files, str) else env_files:
                e = e.get("path") if isinstance(e, dict) else e
                if isinstance(e, str) and not os.path.isabs(e):
                    os.makedirs(os.path.dirname(os.path.join(d, e)), exist_ok=True)
                    open(os.path.join(d, e), "a", encoding="utf-8").close()
        proc = subprocess.run([docker_compose, "-f", os.path.basename(p), "config", "-q"],
                              cwd=d, check=False, capture_output=True, text=True)
    last = [ln for ln in proc.stderr.strip().splitlines() if ln.strip()]
    return proc.returncode == 0, [" ".join(last[:2])]


def measure(paths, env):
    """What each checker says about the files at paths."""
    m = {}
    out = subprocess.run([env["moat"], "audit", "--format", "json", *paths],
                         check=False, capture_output=True, text=True).stdout
    doc = json.loads(out)
    m["moat_sev"] = Counter(f["severity"] for f in doc["findings"])
    m["moat_codes"] = Counter(f["code"] for f in doc["findings"])
    m["moat_fixable"] = Counter(f["fix"]["applicability"] for f in doc["findings"]
                                if f.get("fix") and f["fix"].get("edits"))
    m["moat_fixable_codes"] = Counter((f["code"], f["fix"]["applicability"])
                                      for f in doc["findings"]
                                      if f.get("fix") and f["fix"].get("edits"))
    m["moat_errors"] = {e["path"] for e in doc["errors"]}

    out = subprocess.run([env["compose_lint"], "check", "--format", "json", *paths],
                         check=False, capture_output=True, text=True).stdout
    try:
        doc = json.loads(out)
        m["cl_sev"] = Counter(str(f["severity"]).lower() for f in doc["findings"]
                              if not f.get("suppressed"))
        m["cl_codes"] = Counter(f["rule_id"] for f in doc["findings"] if not f.get("suppressed"))
        m["cl_errors"] = len(doc.get("errors", []))
    except json.JSONDecodeError:
        m["cl_sev"], m["cl_codes"], m["cl_errors"] = Counter(), Counter(), len(paths)

    failed, ch_errors = Counter(), 0
    for p in paths:
        proc = subprocess.run([env["compose_harden"], "scan", "--json", "--min-score", "0", p],
                              check=False, capture_output=True, text=True)
        try:
            doc = json.loads(proc.stdout)
        except json.JSONDecodeError:
            ch_errors += 1
            continue
        for checks in doc["services"].values():
            for c in checks:
                if not c["passed"]:
                    failed[c["check"]] += 1
    m["ch_failed"], m["ch_errors"] = failed, ch_errors

    m["yaml_ok"] = {os.path.basename(p) for p in paths if yaml_ok(p)}
    m["strict_ok"] = {os.path.basename(p) for p in paths if yaml_ok(p, StrictLoader)}
    m["config_ok"], m["config_msg"] = set(), {}
    if env["docker_compose"]:
        for p in paths:
            ok, msg = config_ok(env["docker_compose"], p)
            if ok:
                m["config_ok"].add(os.path.basename(p))
            else:
                m["config_msg"][os.path.basename(p)] = msg[0]
    return m


def ge_medium(sev):
    return sev["critical"] + sev["high"] + sev["medium"]


def changed(before_paths, after_paths):
    return [os.path.basename(a) for b, a in zip(before_paths, after_paths) if read(b) != read(a)]


def write_diff(before_paths, after_paths, dest):
    with open(dest, "w", encoding="utf-8", errors="surrogateescape") as f:
        for b, a in zip(before_paths, after_paths):
            f.writelines(difflib.unified_diff(read(b).splitlines(keepends=True),
                                              read(a).splitlines(keepends=True),
                                              fromfile=os.path.basename(b),
                                              tofile=os.path.basename(a) + " (fixed)"))


def version(argv):
    proc = subprocess.run(argv, check=False, capture_output=True, text=True)
    return (proc.stdout or proc.stderr).strip().splitlines()[0]


def main():
    corpus = sys.argv[1]
    env = {
        "moat": os.environ["MOAT"],
        "compose_lint": os.environ["COMPOSE_LINT"],
        "compose_harden": os.environ["COMPOSE_HARDEN"],
        "docker_compose": os.environ.get("DOCKER_COMPOSE", ""),
    }
    out_dir = os.path.join(os.environ.get("OUT", "/tmp"), "harden")
    os.makedirs(out_dir, exist_ok=True)
    files = sorted(os.path.join(corpus, f) for f in os.listdir(corpus)
                   if f.endswith((".yaml", ".yml")))
    all_tools = tools(env["moat"], env["compose_lint"], env["compose_harden"])

    # timed rounds on fresh copies, the tools' order rotating each round; one untimed warm-up
    times = {name: [] for name, _, _ in all_tools}
    per_file = {name: [] for name, _, _ in all_tools}
    scratch = os.path.join(out_dir, "scratch")
    for name, argv_of, batch in all_tools:
        run_tool(argv_of, batch, lay_out(files, scratch))
    for i in range(REPEAT):
        order = all_tools[i % len(all_tools):] + all_tools[:i % len(all_tools)]
        for name, argv_of, batch in order:
            t, _ = run_tool(argv_of, batch, lay_out(files, scratch))
            times[name].append(t)
            if batch:
                t, _ = run_tool(argv_of, False, lay_out(files, scratch))
                per_file[name].append(t)
            else:
                per_file[name].append(t)

    before_paths = lay_out(files, os.path.join(out_dir, "before"))
    before = measure(before_paths, env)
    results = {}
    for name, argv_of, batch in all_tools:
        slug = name.split(" (")[0].replace(" ", "-").replace("--", "")
        slug += "-safe" if "(safe)" in name else ""
        after_paths = lay_out(files, os.path.join(out_dir, slug))
        _, runs = run_tool(argv_of, batch, after_paths)
        with open(os.path.join(out_dir, slug + ".log"), "w", encoding="utf-8") as log:
            log.writelines(f"$ {' '.join(os.path.basename(a) for a in argv[:4])} …"
                           f" -> exit {proc.returncode}\n{proc.stdout}{proc.stderr}\n"
                           for argv, proc in runs)
        write_diff(before_paths, after_paths, os.path.join(out_dir, slug + ".diff"))
        again_paths = copy_tree(after_paths, os.path.join(out_dir, slug + "-again"))
        _, runs2 = run_tool(argv_of, batch, again_paths)
        write_diff(after_paths, again_paths, os.path.join(out_dir, slug + "-again.diff"))
        results[name] = {
            "m": measure(after_paths, env),
            "changed": changed(before_paths, after_paths),
            "again": changed(after_paths, again_paths),
            "exit": Counter(p.returncode for _, p in runs),
            "exit2": Counter(p.returncode for _, p in runs2),
        }

    print(f"- corpus: {corpus} ({len(files)} files), each tool on fresh copies; "
          f"fix time = median of {REPEAT} rounds after a warm-up")
    print(f"- {version([env['moat'], '--version'])}; "
          f"{version([env['compose_lint'], '--version'])}; "
          f"{version([env['compose_harden'], '--version'])}; "
          + (version([env['docker_compose'], 'version', '--short']).join(("docker-compose ", ""))
             if env["docker_compose"] else "docker-compose not installed"))
    print("- commands: `moat harden --write [--unsafe] FILES…`, "
          "`compose-lint fix --apply FILES…`, "
          "`compose-harden fix --in-place --no-audit FILE` (one file per process)")
    print()
    print("Findings before and after (moat audit: total / ≥medium; compose-lint check: total / "
          "≥medium; compose-harden scan: failed checks):")
    print()
    print("| files | moat total | moat ≥medium | compose-lint total | compose-lint ≥medium "
          "| compose-harden failed | moat fixable left (safe/unsafe) |")
    print("|---|---|---|---|---|---|---|")

    def row(label, m):
        print(f"| {label} | {sum(m['moat_sev'].values())} | {ge_medium(m['moat_sev'])} | "
              f"{sum(m['cl_sev'].values())} | {ge_medium(m['cl_sev'])} | "
              f"{sum(m['ch_failed'].values())} | "
              f"{m['moat_fixable']['safe']}/{m['moat_fixable']['unsafe']} |")

    row("before (corpus)", before)
    for name, r in results.items():
        row(f"after {name}", r["m"])
    print()
    n = len(files)
    print(f"Parsing, changes, time (parse failures count files that parsed before and not after; "
          f"before: PyYAML {len(before['yaml_ok'])}/{n}, without duplicate keys "
          f"{len(before['strict_ok'])}/{n}, docker-compose config "
          f"{len(before['config_ok'])}/{n}, moat errors {len(before['moat_errors'])}, "
          f"compose-lint errors {before['cl_errors']}):")
    print()
    print("| tool | files changed | no longer YAML | duplicate keys | no longer `config` "
          "| moat errors after | fix time, one run | one process per file | exit codes "
          "| second run changes |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, r in results.items():
        m = r["m"]
        lost_yaml = before["yaml_ok"] - m["yaml_ok"]
        lost_cfg = before["config_ok"] - m["config_ok"]
        lost_strict = before["strict_ok"] - m["strict_ok"]
        batch = {t[0]: t[2] for t in all_tools}[name]
        one = f"{statistics.median(times[name]) * 1000:.0f} ms" if batch else "—"
        exits = ", ".join(f"{k}×{v}" for k, v in sorted(r["exit"].items()))
        print(f"| {name} | {len(r['changed'])} | {len(lost_yaml)} | {len(lost_strict)} | "
              f"{len(lost_cfg)} | "
              f"{len(m['moat_errors'])} | {one} | "
              f"{statistics.median(per_file[name]) * 1000:.0f} ms | {exits} | "
              f"{len(r['again'])} |")
    print()
    moat_t = statistics.median(times["moat harden --unsafe"])
    moat_pf = statistics.median(per_file["moat harden --unsafe"])
    cl_t = statistics.median(times["compose-lint fix"])
    print(f"- time ratio, one run over all files: compose-lint fix / moat harden --unsafe "
          f"{cl_t / moat_t:.1f}x")
    for name in ("compose-lint fix", "compose-harden fix"):
        print(f"- time ratio, one process per file: {name} / moat harden --unsafe "
              f"{statistics.median(per_file[name]) / moat_pf:.1f}x")
    for name, r in results.items():
        lost = sorted((before["yaml_ok"] - r["m"]["yaml_ok"])
                      | (before["strict_ok"] - r["m"]["strict_ok"])
                      | (before["config_ok"] - r["m"]["config_ok"]))
        for f in lost:
            why = r["m"]["config_msg"].get(f) or ("a key given twice" if f in r["m"]["yaml_ok"]
                                                  else "YAML")
            print(f"- {name}: {f} no longer parses: {why}")
        if r["again"]:
            print(f"- {name}: second run changes {', '.join(r['again'])}")
    if before["config_msg"]:
        print(f"- `docker-compose config` fails before any fix on {len(before['config_msg'])} "
              "files: " + "; ".join(f"{k}: {v}" for k, v in sorted(before["config_msg"].items())))
    print()

    names = list(results)
    short = ["moat --unsafe", "moat safe", "compose-lint", "compose-harden"]
    for title, key in (("moat audit", "moat_codes"), ("compose-lint check", "cl_codes"),
                       ("compose-harden scan (failed checks)", "ch_failed")):
        print(f"{title}, findings per check, before → after each tool:")
        print()
        print("| check | before | " + " | ".join(short) + " |")
        print("|---|---|" + "---|" * len(short))
        keys = set(before[key])
        for name in names:
            keys |= set(results[name]["m"][key])
        for k in sorted(keys):
            cells = [str(results[nm]["m"][key][k]) for nm in names]
            print(f"| {k} | {before[key][k]} | " + " | ".join(cells) + " |")
        print()
    for name in ("moat harden --unsafe", "moat harden (safe)"):
        left = results[name]["m"]["moat_fixable_codes"]
        if name.endswith("(safe)"):
            left = Counter({k: v for k, v in left.items() if k[1] == "safe"})
        if left:
            print(f"- moat findings with a fix still there after `{name}`: "
                  + ", ".join(f"{c} ({a}) {v}" for (c, a), v in sorted(left.items())))
    print(f"- fixed files, diffs and tool logs: {out_dir}")


if __name__ == "__main__":
    main()
