#!/usr/bin/python3
"""Times the Python baseline of concnas's generate stage: NetworkX generating a graph and
orienting it into a DAG the way concnas does (DFS discovery order, input/output vertices).

Run with Debian's /usr/bin/python3 (python3-networkx). Prints one JSON object; compare
with BM_GenerateGraphOnly (ER, 32 vertices) from concnas_bench_generate.
"""
import json
import sys
import time

import networkx as nx


def orient_dfs(g):
    # DFS from the smallest unvisited vertex, neighbours in ascending order.
    rank = {}
    for root in sorted(g.nodes):
        if root in rank:
            continue
        rank[root] = len(rank)
        stack = [(root, iter(sorted(g[root])))]
        while stack:
            v, it = stack[-1]
            w = next(it, None)
            if w is None:
                stack.pop()
            elif w not in rank:
                rank[w] = len(rank)
                stack.append((w, iter(sorted(g[w]))))
    dag = nx.DiGraph()
    dag.add_nodes_from(g.nodes)
    for u, v in g.edges:
        dag.add_edge(u, v) if rank[u] < rank[v] else dag.add_edge(v, u)
    n = g.number_of_nodes()
    for v in list(dag.nodes):
        if dag.in_degree(v) == 0:
            dag.add_edge(n, v)
    for v in list(dag.nodes):
        if v != n and dag.out_degree(v) == 0:
            dag.add_edge(v, n + 1)
    return dag


def main():
    nodes = int(sys.argv[1]) if len(sys.argv) > 1 else 32
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
    best = float("inf")
    for rep in range(5):
        start = time.perf_counter()
        for seed in range(runs):
            orient_dfs(nx.erdos_renyi_graph(nodes, 0.2, seed=seed))
        best = min(best, (time.perf_counter() - start) / runs)
    print(json.dumps({"name": "networkx_er_generate_orient", "nodes": nodes,
                      "networkx": nx.__version__, "seconds_per_graph": best,
                      "graphs_per_second": 1.0 / best}))


if __name__ == "__main__":
    main()
