"""Driver for bench/audit-vs-hadolint.sh (see there). Standard library only."""
import json
import os
import re
import resource
import subprocess
import sys
import time
from collections import defaultdict

BATCH = 200


def run_batches(cmd_prefix, files):
    """Runs cmd_prefix + batch for every batch; returns (outputs, wall seconds, cpu seconds)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    outputs = []
    for i in range(0, len(files), BATCH):
        proc = subprocess.run(cmd_prefix + files[i:i + BATCH], capture_output=True, text=True)
        outputs.append((proc.returncode, proc.stdout, proc.stderr))
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return outputs, wall, cpu


HEREDOC = re.compile(r"<<(-?)\s*([\"']?)([A-Za-z_][A-Za-z0-9_]*)\2")


def instruction_starts(path):
    """Maps each 1-based line to the line where its instruction starts (continuations, heredocs)."""
    try:
        lines = open(path, encoding="utf-8", errors="replace").read().split("\n")
    except OSError:
        return {}
    escape = "\\"
    for line in lines[:5]:
        m = re.match(r"#\s*escape\s*=\s*(\S)", line.strip(), re.I)
        if m:
            escape = m.group(1)
    starts, current, cont, heredocs = {}, 1, False, []
    for n, line in enumerate(lines, 1):
        if heredocs:
            starts[n] = current
            term = line.strip() if heredocs[0][0] else line
            if term == heredocs[0][1]:
                heredocs.pop(0)
            continue
        stripped = line.strip()
        if not cont and stripped and not stripped.startswith("#"):
            current = n
        starts[n] = current
        if stripped.startswith("#") or not stripped:
            continue
        heredocs.extend((m.group(1) == "-", m.group(3)) for m in HEREDOC.finditer(line))
        cont = line.rstrip().endswith(escape)
    return starts


def main():
    corpus = sys.argv[1]
    moat = os.environ["MOAT"]
    out_dir = os.environ["OUT"]
    files = sorted(os.path.join(corpus, f) for f in os.listdir(corpus))
    n = len(files)

    h_out, h_wall, h_cpu = run_batches(["hadolint", "--no-fail", "-f", "json"], files)
    m_out, m_wall, m_cpu = run_batches([moat, "audit", "--format", "json", "--select", "ALL"], files)

    hadolint = defaultdict(set)  # code -> {(file, line)}
    h_fail = set()
    for _, stdout, _ in h_out:
        for f in json.loads(stdout or "[]"):
            if f["code"] == "DL1000":
                h_fail.add(os.path.basename(f["file"]))
            hadolint[f["code"]].add((os.path.basename(f["file"]), f["line"]))

    moat_found = defaultdict(set)
    m_fail = {}
    panics = 0
    starts_cache = {}
    for rc, stdout, stderr in m_out:
        if rc not in (0, 1, 2) or "panicked" in stderr:
            panics += 1
            continue
        report = json.loads(stdout)
        for e in report["errors"]:
            m_fail[os.path.basename(e["path"])] = e["message"]
        for f in report["findings"]:
            name = os.path.basename(f["location"]["path"])
            if name not in starts_cache:
                starts_cache[name] = instruction_starts(os.path.join(corpus, name))
            line = starts_cache[name].get(f["location"]["line"], f["location"]["line"])
            for ref in f["references"]:
                if ref.startswith("DL"):
                    moat_found[ref].add((name, line))

    rules = json.loads(subprocess.run([moat, "audit", "--list-rules", "--format", "json"],
                                      capture_output=True, text=True, check=True).stdout)
    mapped = sorted({r for rule in rules for r in rule["references"] if r.startswith("DL")})
    skip = h_fail | set(m_fail)

    print(f"corpus: {n} files ({corpus})")
    print(f"hadolint: {h_wall:7.2f} s wall, {h_cpu:7.2f} s CPU, {n / h_wall:9.1f} files/s, {1000 * h_cpu / n:7.3f} ms CPU/file")
    print(f"moat:     {m_wall:7.2f} s wall, {m_cpu:7.2f} s CPU, {n / m_wall:9.1f} files/s, {1000 * m_cpu / n:7.3f} ms CPU/file")
    print(f"throughput ratio moat/hadolint: {h_wall / m_wall:.1f}x (wall), {h_cpu / max(m_cpu, 1e-9):.1f}x (CPU)")
    print(f"parse failures: hadolint {len(h_fail)} ({100 * len(h_fail) / n:.2f}%), moat {len(m_fail)} ({100 * len(m_fail) / n:.2f}%), moat panics: {panics}")
    both = sorted(set(m_fail) & h_fail)
    only_moat = sorted(set(m_fail) - h_fail)
    print(f"  failing in both: {len(both)}; only moat: {len(only_moat)}; only hadolint: {len(h_fail - set(m_fail))}")
    for name in only_moat:
        print(f"    moat only: {name}: {m_fail[name]}")
    print()
    print(f"agreement at instruction-line level on the {n - len(skip)} files both parse:")
    print(f"{'code':8} {'hadolint':>8} {'moat':>6} {'both':>6} {'precision':>9} {'recall':>7}")
    disagreements = {}
    for code in mapped:
        h = {x for x in hadolint.get(code, set()) if x[0] not in skip}
        m = {x for x in moat_found.get(code, set()) if x[0] not in skip}
        tp = len(h & m)
        precision = tp / len(m) if m else 1.0
        recall = tp / len(h) if h else 1.0
        print(f"{code:8} {len(h):8} {len(m):6} {tp:6} {precision:9.3f} {recall:7.3f}")
        disagreements[code] = {"moat_only": sorted(m - h), "hadolint_only": sorted(h - m)}
    with open(os.path.join(out_dir, "disagreements.json"), "w") as fh:
        json.dump(disagreements, fh, indent=1)
    print(f"\ndisagreements written to {os.path.join(out_dir, 'disagreements.json')}")


if __name__ == "__main__":
    main()
