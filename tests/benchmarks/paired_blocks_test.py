#!/usr/bin/env python3
"""benchmarks/paired_blocks.py on latency files whose states are known.

Usage: paired_blocks_test.py PAIRED_BLOCKS_PY WORK_DIR (ctest runs it; exit 0 = passed).

Each synthetic round has blocks of 10 inferences in a chosen state. In a fast block the
baseline computes 5 ms (5.05 ms in all) and the workers 2.9 and 3 ms; in a slow one, all of
them compute twice as long. The deployment takes 3.2 ms fast and 6.4 ms slow: ratios of
5.05 / 3.2 and 10.05 / 6.4. In a "mixed" block one worker is slow and the deployment 5 ms.
A last block cut short must be left out.
"""
import csv
import json
import os
import subprocess
import sys

script, work = sys.argv[1], sys.argv[2]
os.makedirs(work, exist_ok=True)
failures = []


def check(what, got, want):
    if got != want:
        failures.append(f"{what}: got {got!r}, want {want!r}")


def write(name, states, short_last=0, columns=None):
    """One round: a block per entry of `states` ('F', 'S' or 'M'), plus `short_last` rows."""
    columns = columns or ["inference", "ms", "baseline_ms", "baseline_first", "baseline_compute_ms",
                          "w0_compute_ms", "w1_compute_ms"]
    path = os.path.join(work, name)
    with open(path, "w", newline="") as f:
        out = csv.writer(f)
        out.writerow(columns)
        i = 0
        for state in list(states) + (["F"] if short_last else []):
            for _ in range(short_last if i >= 10 * len(states) else 10):
                slow = 2.0 if state == "S" else 1.0
                base = 5.0 * slow
                row = {"inference": i, "ms": {"F": 3.2, "S": 6.4, "M": 5.0}[state], "baseline_ms": base + 0.05,
                       "baseline_first": (i // 10) % 2, "baseline_compute_ms": base, "w0_compute_ms": 2.9 * slow,
                       "w1_compute_ms": 3.0 * (2.0 if state in "SM" else 1.0)}
                out.writerow([row[c] for c in columns])
                i += 1
    return path


def run(*args):
    return subprocess.run([sys.executable, script, *args], capture_output=True, text=True)


a = write("a.csv", "FFSSM", short_last=3)
b = write("b.csv", "SSFM")
r = run("--json", a, b)
check("exit status", r.returncode, 0)
j = json.loads(r.stdout) if r.returncode == 0 else {}
if j:
    check("blocks (the short one left out)", j["blocks"], 9)
    check("fast pairs", j["fast"]["pairs"], 3)
    check("slow pairs", j["slow"]["pairs"], 4)
    check("mixed blocks", j["mixed"], 2)
    check("fast ratio", round(j["fast"]["ratio"], 6), round(5.05 / 3.2, 6))
    check("slow ratio", round(j["slow"]["ratio"], 6), round(10.05 / 6.4, 6))
    check("fast deployment median", round(j["fast"]["deploy_ms"], 6), 3.2)
    check("slow baseline median", round(j["slow"]["baseline_ms"], 6), 10.05)
    lo, hi = j["fast"]["ratio_90"]
    check("the interval holds the ratio", lo <= j["fast"]["ratio"] <= hi, True)
# Another margin still splits 2x apart states the same way; one below 1 is refused.
check("margin 1.05", json.loads(run("--json", "--margin", "1.05", a, b).stdout)["fast"]["pairs"], 3)
check("margin 0.5 refused", run("--margin", "0.5", a).returncode != 0, True)
# The text report runs too.
text = run(a, b)
check("text exit status", text.returncode, 0)
check("text has the pooled line", "\nall " in text.stdout, True)
# A file without the compute columns is refused with a message naming it.
old = write("old.csv", "FS", columns=["inference", "ms", "baseline_ms", "baseline_first"])
bad = run(old)
check("old file refused", bad.returncode != 0 and "old.csv: not a paired latency file" in bad.stderr, True)
missing = run(os.path.join(work, "none.csv"))
check("missing file refused", missing.returncode != 0 and "cannot read it" in missing.stderr, True)

for f in failures:
    print("FAILED:", f)
print("paired_blocks_test:", "passed" if not failures else f"{len(failures)} failed")
sys.exit(1 if failures else 0)
