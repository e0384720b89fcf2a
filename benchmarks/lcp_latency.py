#!/usr/bin/python3
"""LCP-2 on concnas's engine against chain-40 in PyTorch, in one run.

The claim of docs/results.md ("LCP latency"): LCP-K networks (docs/generators.md) run on
concnas's engine faster than the chain they replace runs in PyTorch. Prepares chain-40
and LCP networks of 2 branches of 40 vertices at width W (each trained briefly: weights
do not change the latency), then runs ROUNDS rounds; each round runs, in an order rotated
per round, chain-40's PyTorch peer (benchmarks/torch_inference_peer.py: eager and traced
+ frozen + optimize_for_inference at 1 and 2 threads), LCP's PyTorch peer, and
`concnas run --local` of LCP on one unit with 1 core (c1), one unit with 2 cores (c2)
and 2 pinned workers of 1 core, a branch each (w2). Figures are p50s in ms; speedups are
per round, chain-40's best PyTorch p50 (the lower frozen setting) / LCP's concnas p50,
reported as median (lowest-highest round).

  benchmarks/lcp_latency.py [--widths 1] [--batches 1,8] [--rounds 5] [--runs 300]
      [--out bench-results/lcp_latency.json]
"""
import argparse
import json
import os
import statistics
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import inference_latency as il  # noqa: E402


def rounds_of(chain, lcp, batch, rounds, runs):
    jobs = ["chain_torch", "lcp_torch", *il.MODES]
    per_round = []
    for r in range(rounds):
        row = {}
        for job in jobs[r % len(jobs):] + jobs[:r % len(jobs)]:
            if job == "chain_torch":
                row.update({f"chain_{k}": v for k, v in il.peer_p50s(chain, batch, runs).items()})
            elif job == "lcp_torch":
                row.update({f"lcp_{k}": v for k, v in il.peer_p50s(lcp, batch, runs).items()})
            else:
                row[job] = il.concnas_p50(lcp, job, batch, runs)
        row["chain_best_torch"] = min(row["chain_frozen_1t"], row["chain_frozen_2t"])
        row["lcp_best_torch"] = min(row["lcp_frozen_1t"], row["lcp_frozen_2t"])
        per_round.append(row)
    return per_round


def summarise(per_round):
    out = {k: statistics.median(r[k] for r in per_round) for k in per_round[0]}
    for mode in il.MODES:
        for peer in ("chain_best_torch", "lcp_best_torch"):
            ratios = [r[peer] / r[mode] for r in per_round]
            out[f"{mode}_vs_{peer}"] = {"median": statistics.median(ratios), "min": min(ratios), "max": max(ratios)}
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--widths", default="1")
    ap.add_argument("--batches", default="1,8")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--runs", type=int, default=300)
    ap.add_argument("--out", default=os.path.join(il.ROOT, "bench-results", "lcp_latency.json"))
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="concnas-lcp-latency-")
    chain = il.prepare(work, "chain", 256)
    results = {"rounds": args.rounds, "runs": args.runs, "networks": {}}
    print(f"{'network':10} {'batch':>5} {'chain fr1':>9} {'chain fr2':>9} {'lcp fr1':>8} {'lcp fr2':>8} {'c1':>7} "
          f"{'c2':>7} {'w2':>7} | x chain best torch: {'c1':>5} {'c2':>5} {'w2':>5}", flush=True)
    for width in args.widths.split(","):
        name = f"lcp2-w{width}"
        lcp = il.prepare(work, name, 256)
        entry = {}
        for batch in [int(b) for b in args.batches.split(",")]:
            s = summarise(rounds_of(chain, lcp, batch, args.rounds, args.runs))
            entry[f"batch{batch}"] = s
            x = {m: s[f"{m}_vs_chain_best_torch"] for m in il.MODES}
            print(f"{name:10} {batch:5d} {s['chain_frozen_1t']:9.3f} {s['chain_frozen_2t']:9.3f} "
                  f"{s['lcp_frozen_1t']:8.3f} {s['lcp_frozen_2t']:8.3f} {s['c1']:7.3f} {s['c2']:7.3f} {s['w2']:7.3f} | "
                  + " ".join(f"{x[m]['median']:5.2f} ({x[m]['min']:.2f}-{x[m]['max']:.2f})" for m in il.MODES),
                  flush=True)
        results["networks"][name] = entry
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
