"""Driver for bench/compose-vs-compose-lint.sh (see there). Standard library only."""
import json
import os
import re
import statistics
import subprocess
import sys
import time
from collections import Counter, defaultdict

REPEAT = int(os.environ.get("REPEAT", "7"))
CIS = re.compile(r"CIS Docker Benchmark\s+((?:\d+\.\d+)(?:\s*,\s*\d+\.\d+)*)")


def timed(cmd):
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    return time.perf_counter() - start, proc


def moat_rules(moat):
    out = subprocess.run([moat, "audit", "--list-rules", "--format", "json"],
                         capture_output=True, text=True, check=True).stdout
    rules = []
    for r in json.loads(out):
        if r["code"][0] in "CN":
            cis = [x.removeprefix("CIS-DOCKER-") for x in r["references"]
                   if x.startswith("CIS-DOCKER-")]
            rules.append((r["code"], r["name"], r["severity"], cis))
    return rules


def compose_lint_rules(compose_lint):
    """The rules compose-lint registers, read from its package in its own interpreter."""
    with open(compose_lint, encoding="utf-8", errors="replace") as f:
        shebang = f.readline()
    # the interpreter of its entry point script; a wrapper (pyenv shim) falls back to ours
    python = shebang[2:].strip() if shebang.startswith("#!") else ""
    if "python" not in python or not os.path.exists(python.split()[0]):
        python = sys.executable
    code = (
        "import json\n"
        "from compose_lint.rules import get_registered_rules\n"
        "out = []\n"
        "for cls in get_registered_rules():\n"
        "    m = cls().metadata\n"
        "    out.append([m.id, m.name, str(m.severity.value).lower(), m.references])\n"
        "print(json.dumps(out))\n"
    )
    proc = subprocess.run(python.split() + ["-c", code], capture_output=True, text=True)
    if proc.returncode != 0:
        return None
    rules = []
    for rid, name, sev, refs in sorted(json.loads(proc.stdout)):
        cis = []
        for ref in refs:
            m = CIS.search(ref)
            if m:
                title = ref[m.end():].strip(" —-")
                for n in re.split(r"\s*,\s*", m.group(1)):
                    cis.append((n, title))
        rules.append((rid, name, sev, cis))
    return rules


def version_key(n):
    return tuple(int(p) for p in n.split("."))


def main():
    corpus = sys.argv[1]
    moat, compose_lint = os.environ["MOAT"], os.environ["COMPOSE_LINT"]
    out_dir = os.environ.get("OUT", "/tmp")
    files = sorted(os.path.join(corpus, f) for f in os.listdir(corpus)
                   if f.endswith((".yaml", ".yml")))
    moat_cmd = [moat, "audit", "--format", "json", *files]
    cl_cmd = [compose_lint, "check", "--format", "json", *files]
    cl_version = subprocess.run([compose_lint, "--version"], capture_output=True,
                                text=True).stdout.strip()
    moat_version = subprocess.run([moat, "--version"], capture_output=True,
                                  text=True).stdout.strip()

    # one untimed warm-up each (page cache, Python bytecode), then interleaved rounds with
    # the order alternating so that neither tool always runs second
    timed(moat_cmd)
    timed(cl_cmd)
    times = {"moat": [], "compose-lint": []}
    last = {}
    for i in range(REPEAT):
        order = [("moat", moat_cmd), ("compose-lint", cl_cmd)]
        if i % 2:
            order.reverse()
        for name, cmd in order:
            t, proc = timed(cmd)
            times[name].append(t)
            last[name] = proc

    for name, proc in last.items():
        with open(os.path.join(out_dir, f"compose-{name}.json"), "w") as f:
            f.write(proc.stdout)
    moat_out = json.loads(last["moat"].stdout)
    cl_out = json.loads(last["compose-lint"].stdout)
    moat_findings = moat_out["findings"]
    cl_findings = cl_out["findings"]

    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"- corpus: {corpus} ({len(files)} files), {REPEAT} interleaved rounds after a warm-up")
    print(f"- moat: {moat_version}; compose-lint: {cl_version}")
    print()
    print("| tool | median wall time | min | max | exit code | findings | files with findings | input errors |")
    print("|---|---|---|---|---|---|---|---|")
    rows = [
        ("moat", last["moat"].returncode, moat_findings,
         {f["location"]["path"] for f in moat_findings}, len(moat_out.get("errors", []))),
        ("compose-lint", last["compose-lint"].returncode, cl_findings,
         {f["file"] for f in cl_findings}, len(cl_out.get("errors", []))),
    ]
    for name, rc, found, paths, errors in rows:
        t = times[name]
        print(f"| {name} | {med[name] * 1000:.1f} ms | {min(t) * 1000:.1f} ms | "
              f"{max(t) * 1000:.1f} ms | {rc} | {len(found)} | {len(paths)} | {errors} |")
    print()
    print(f"- ratio (compose-lint / moat, median wall time): {med['compose-lint'] / med['moat']:.1f}x")
    print()
    mc = Counter(f["code"] for f in moat_findings)
    cc = Counter(f["rule_id"] for f in cl_findings)
    print("- findings per check: moat " + ", ".join(f"{k} {v}" for k, v in sorted(mc.items())))
    print("- findings per check: compose-lint " + ", ".join(f"{k} {v}" for k, v in sorted(cc.items())))
    print()

    mrules = moat_rules(moat)
    crules = compose_lint_rules(compose_lint)
    print("### Checks of each tool, by the CIS Docker Benchmark id each cites")
    print()
    print("moat cites CIS Docker Benchmark v1.6.0 ids; compose-lint's cited text is quoted after "
          "its id where it names the section, since editions number some sections differently.")
    print()
    by_cis = defaultdict(lambda: ([], []))
    moat_plain, cl_plain = [], []
    for code, name, sev, cis in mrules:
        for n in cis:
            by_cis[n][0].append(f"{code} `{name}` ({sev})")
        if not cis:
            moat_plain.append(f"{code} `{name}` ({sev})")
    if crules is None:
        print("(compose-lint's rules could not be read from its package)")
    else:
        for rid, name, sev, cis in crules:
            for n, title in cis:
                label = f"{rid} {name} ({sev})"
                if title:
                    label += f" [cites: {title}]"
                by_cis[n][1].append(label)
            if not cis:
                cl_plain.append(f"{rid} {name} ({sev})")
    print("| CIS | moat | compose-lint |")
    print("|---|---|---|")
    for n in sorted(by_cis, key=version_key):
        m, c = by_cis[n]
        print(f"| {n} | {'<br>'.join(m) or '—'} | {'<br>'.join(c) or '—'} |")
    print(f"| (none) | {'<br>'.join(moat_plain) or '—'} | {'<br>'.join(cl_plain) or '—'} |")
    print()
    total_c = len(crules) if crules is not None else "?"
    print(f"- checks: moat {len(mrules)} (C/N), compose-lint {total_c}")


if __name__ == "__main__":
    main()
