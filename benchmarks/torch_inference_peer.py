#!/usr/bin/python3
"""Inference latency of a concnas architecture in PyTorch: the peer of `concnas run`.

Builds the network of benchmarks/train_step.py (the same layers as concnas::nn::Network)
in eval mode and times batch-B inferences of it, eager under inference_mode and
torch.jit.trace + torch.jit.freeze + torch.jit.optimize_for_inference (batch norms
folded, convolutions on oneDNN), at 1 and 2 intra-op threads. The variants run in
blocks of 10 inferences, one after another in turn, so all see the same machine.
Prints one JSON line: each variant's p50, p95 and min in milliseconds.

  /usr/bin/python3 benchmarks/torch_inference_peer.py ARCH.yaml [--batch B] [--runs R]
      [--warmup W] [--threads 1,2]
"""
import argparse
import json
import os
import statistics
import sys
import time

import torch
import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from train_step import Network  # noqa: E402


def percentile(values, q):
    v = sorted(values)
    return v[min(len(v) - 1, max(0, int(-(-q * len(v) // 1)) - 1))]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("arch")
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--runs", type=int, default=300)
    ap.add_argument("--warmup", type=int, default=30)
    ap.add_argument("--threads", default="1,2")
    args = ap.parse_args()
    with open(args.arch) as f:
        arch = yaml.safe_load(f)
    torch.manual_seed(0)
    net = Network(arch).eval()
    c, h, w = arch["network"]["input"]
    x = torch.randn(args.batch, c, h, w)
    with torch.no_grad():
        frozen = torch.jit.optimize_for_inference(torch.jit.freeze(torch.jit.trace(net, x).eval()))
        diff = (frozen(x) - net(x)).abs().max().item()
    variants = {}
    for t in [int(s) for s in args.threads.split(",")]:
        variants[f"eager_{t}t"] = (net, t)
        variants[f"frozen_{t}t"] = (frozen, t)
    times = {name: [] for name in variants}

    def block(name, count, keep):
        model, threads = variants[name]
        torch.set_num_threads(threads)
        with torch.inference_mode():
            for _ in range(count):
                t0 = time.perf_counter()
                model(x)
                if keep:
                    times[name].append((time.perf_counter() - t0) * 1e3)

    for name in variants:
        block(name, args.warmup, False)
    for b in range((args.runs + 9) // 10):
        names = list(variants)
        shift = b % len(names)
        for name in names[shift:] + names[:shift]:
            block(name, min(10, args.runs - 10 * b), True)
    out = {"architecture": arch["name"], "batch": args.batch, "runs": args.runs, "frozen_max_abs_diff": diff}
    for name, v in times.items():
        out[name] = {"p50": statistics.median(v), "p95": percentile(v, 0.95), "min": min(v)}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
