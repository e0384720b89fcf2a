#!/usr/bin/python3
"""Training throughput of a concnas architecture through PyTorch's Python frontend.

Builds the same network as concnas::nn::Network from an architecture file (stem,
vertices with scaling blocks and RandWire aggregation, output averaging, head), then
times forward, loss, backward and SGD step on in-memory batches, like
concnas_bench_train_step. Run with Debian's /usr/bin/python3 (python3-torch).

  /usr/bin/python3 benchmarks/train_step.py ARCH.yaml [batch] [steps] [warmup] [threads]
"""
import heapq
import json
import math
import sys
import time

import torch
import torch.nn as tnn
import torch.nn.functional as F
import yaml


class Scaling(tnn.Module):
    def __init__(self, block, target, from_shape):
        super().__init__()
        self.pool = block["pool"]
        self.size = (target[1], target[2])
        self.project = tnn.Conv2d(from_shape[0], target[0], 1, bias=False) if block["project"] else None

    def forward(self, x):
        if self.pool:
            x = F.adaptive_max_pool2d(x, self.size)
        return self.project(x) if self.project is not None else x


class Carry(tnn.Module):
    """What an edge of architecture format version 2 hands its consumer: the first channels
    it carries, rounded to float16 and back on an fp16 edge (concnas's nn::carried)."""

    def __init__(self, spec, src, shape):
        super().__init__()
        edge = next((e for e in spec.get("edges", []) if e["from"] == src), {})
        c = shape[0]
        self.channels = max(1, min(c, math.ceil(edge.get("share", 1.0) * c - 1e-9)))
        self.half = edge.get("dtype", "fp32") == "fp16"
        self.shape = [self.channels, shape[1], shape[2]]

    def forward(self, x):
        if self.channels < x.shape[1]:
            x = x[:, :self.channels]
        return x.half().float() if self.half else x


def merge_inputs(spec, shape_of):
    """Per input of `spec`: its edge (Carry) and its scaling block (or Identity)."""
    blocks = {b["from"]: b for b in spec["scaling"]}
    carries = [Carry(spec, i, shape_of(i)) for i in spec["inputs"]]
    scaling = [Scaling(blocks[i], spec["in"], c.shape) if i in blocks else tnn.Identity()
               for i, c in zip(spec["inputs"], carries)]
    return tnn.ModuleList(carries), tnn.ModuleList(scaling)


class Vertex(tnn.Module):
    def __init__(self, spec, shape_of, randwire):
        super().__init__()
        self.randwire = randwire
        self.concat = spec.get("merge", "sum") == "concat"
        self.carries, self.scaling = merge_inputs(spec, shape_of)
        k = len(spec["inputs"])
        self.weight = tnn.Parameter(torch.full((k,), 0.0 if randwire else 1.0 / k)) if k > 1 and not self.concat else None
        c, cout = spec["in"][0], spec["out"][0]
        self.depthwise = tnn.Conv2d(c, c, 3, stride=2 if spec["staged"] else 1, padding=1, groups=c, bias=False)
        self.pointwise = tnn.Conv2d(c, cout, 1, bias=False)
        self.norm = tnn.BatchNorm2d(cout)

    def forward(self, inputs):
        xs = [s(c(x)) for c, s, x in zip(self.carries, self.scaling, inputs)]
        if self.concat:
            x = torch.cat(xs, 1)
        elif self.weight is None:
            x = xs[0]
        else:
            w = torch.sigmoid(self.weight) if self.randwire else self.weight
            x = sum((xi if self.randwire else torch.sigmoid(xi)) * w[i] for i, xi in enumerate(xs))
        return self.norm(self.pointwise(self.depthwise(F.relu(x))))


class Network(tnn.Module):
    def __init__(self, arch):
        super().__init__()
        net = arch["network"]
        n = arch["dag"]["nodes"]
        self.n = n
        self.specs = {v["id"]: v for v in arch["vertices"]}
        stem = [net["stem_channels"], net["input"][1], net["input"][2]]
        shape_of = lambda v: stem if v == n else self.specs[v]["out"]
        self.stem = tnn.Sequential(tnn.Conv2d(net["input"][0], net["stem_channels"], 3, padding=1, bias=False),
                                   tnn.BatchNorm2d(net["stem_channels"]))
        # Kahn's algorithm, smallest ready id first, as concnas orders vertices.
        preds = {v: [p for p in self.specs[v]["inputs"] if p != n] for v in range(n)}
        succs = {v: [] for v in range(n)}
        for v in range(n):
            for p in preds[v]:
                succs[p].append(v)
        indeg = {v: len(preds[v]) for v in range(n)}
        ready = [v for v in range(n) if indeg[v] == 0]
        heapq.heapify(ready)
        self.order = []
        while ready:
            v = heapq.heappop(ready)
            self.order.append(v)
            for w in succs[v]:
                indeg[w] -= 1
                if indeg[w] == 0:
                    heapq.heappush(ready, w)
        randwire = net["aggregation"] == "randwire"
        self.vertices = tnn.ModuleDict({str(v): Vertex(self.specs[v], shape_of, randwire) for v in self.order})
        out = arch["output"]
        self.sinks = out["inputs"]
        self.out_concat = out.get("merge", "sum") == "concat"
        self.out_carries, self.out_scaling = merge_inputs(out, shape_of)
        self.head = tnn.Linear(out["in"][0], net["classes"])

    def forward(self, images):
        t = {self.n: self.stem(images)}
        for v in self.order:
            t[v] = self.vertices[str(v)]([t[p] for p in self.specs[v]["inputs"]])
        xs = [s(c(t[v])) for c, s, v in zip(self.out_carries, self.out_scaling, self.sinks)]
        x = torch.cat(xs, 1) if self.out_concat else sum(xs) / len(xs)
        return self.head(F.adaptive_avg_pool2d(x, 1).flatten(1))


def main():
    path = sys.argv[1]
    settings = [128, 40, 5, 2]  # batch, steps, warmup, threads
    for i, value in enumerate(sys.argv[2:6]):
        settings[i] = int(value)
    batch, steps, warmup, threads = settings
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    with open(path) as f:
        arch = yaml.safe_load(f)
    net = Network(arch)
    params = sum(p.numel() for p in net.parameters())
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=5e-5)
    c, h, w = arch["network"]["input"]
    x = torch.randn(batch, c, h, w)
    y = torch.randint(arch["network"]["classes"], (batch,))

    def step():
        opt.zero_grad()
        loss = F.cross_entropy(net(x), y, label_smoothing=0.1)
        loss.backward()
        opt.step()
        return loss.item()

    for _ in range(warmup):
        step()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    s = time.perf_counter() - t0
    print(json.dumps({"frontend": "pytorch-python", "architecture": arch["name"], "params": params,
                      "batch": batch, "steps": steps, "threads": threads, "seconds": round(s, 4),
                      "images_per_s": round(steps * batch / s, 1)}))


if __name__ == "__main__":
    main()
