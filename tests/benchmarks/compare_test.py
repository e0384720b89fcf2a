#!/usr/bin/python3
"""benchmarks/compare.py on made-up results: same figures pass, a slower concnas fails,
--save writes a baseline that keeps thresholds, and missing results are one error line.

  compare_test.py COMPARE.py WORK_DIR
"""
import json
import os
import shutil
import subprocess
import sys

compare, work = sys.argv[1], sys.argv[2]
shutil.rmtree(work, ignore_errors=True)


def bench(names_times):
    return {"benchmarks": [{"run_name": n, "aggregate_name": "median", "real_time": t, "time_unit": "ns"}
                           for n, t in names_times]}


def results(folder, concnas_bn=600.0):
    os.makedirs(folder)
    files = {
        "concnas_bench_generate.json": bench([("BM_GenerateGraphOnly", 14000.0)]),
        "networkx_baseline.json": {"seconds_per_graph": 190e-6},
        "concnas_bench_ops.json": bench([("BM_BatchNorm/concnas/64/7", concnas_bn), ("BM_BatchNorm/libtorch/64/7", 1000.0),
                                         ("BM_WeightedSumRelu/concnas/64/7", 450.0),
                                         ("BM_WeightedSumRelu/libtorch/64/7", 1000.0)]),
        "concnas_bench_score.json": bench([("BM_ScoreArchitecture/dp_metis/40/4", 190.0),
                                           ("BM_ScoreArchitecture/dp_metis_unrefined/40/4", 230.0)]),
        "partition_quality.json": {"rows": [{"mean_comm_bytes_refined": 80.0, "mean_comm_bytes_metis_alone": 100.0}]},
        "search_throughput.json": {"per_s": 7000.0, "one_thread_per_s": 3500.0},
    }
    for name, body in files.items():
        with open(os.path.join(folder, name), "w") as f:
            json.dump(body, f)


def run(*args):
    return subprocess.run(["/usr/bin/python3", compare, *args], capture_output=True, text=True)


results(os.path.join(work, "a"))
results(os.path.join(work, "slow"), concnas_bn=900.0)  # batch norm 50% slower
baseline = os.path.join(work, "baseline.json")
assert run(os.path.join(work, "a"), "--baseline", baseline, "--save").returncode == 0
same = run(os.path.join(work, "a"), "--baseline", baseline)
assert same.returncode == 0 and "REGRESSED" not in same.stdout, same.stdout
slow = run(os.path.join(work, "slow"), "--baseline", baseline)
assert slow.returncode == 1, slow.stdout
assert "batchnorm_vs_libtorch" in slow.stdout and "REGRESSED" in slow.stdout, slow.stdout
# A wider threshold kept in the baseline file lets the same run pass, and --save keeps it.
with open(baseline) as f:
    b = json.load(f)
b["figures"]["batchnorm_vs_libtorch"]["threshold"] = 0.6
with open(baseline, "w") as f:
    json.dump(b, f)
assert run(os.path.join(work, "slow"), "--baseline", baseline).returncode == 0
assert run(os.path.join(work, "slow"), "--baseline", baseline, "--save").returncode == 0
with open(baseline) as f:
    assert json.load(f)["figures"]["batchnorm_vs_libtorch"]["threshold"] == 0.6
missing = run(os.path.join(work, "nowhere"), "--baseline", baseline)
assert missing.returncode != 0 and "cannot read the benchmark results" in missing.stderr, missing.stderr
print("compare_test: ok")
