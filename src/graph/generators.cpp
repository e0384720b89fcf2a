// The four built-in generators. Each draws only from concnas::Rng so that a seed gives
// the same graph on every platform.
#include <algorithm>
#include <cmath>

#include "concnas/common/error.h"
#include "concnas/common/rng.h"
#include "concnas/graph/generator.h"

namespace concnas::graph {
namespace {

using Kind = ParamSpec::Kind;

int as_int(const ParamMap& p, const char* key) { return static_cast<int>(p.get(key)); }

class ErGenerator final : public Generator {
 public:
  std::string name() const override { return "er"; }
  std::vector<ParamSpec> param_specs() const override {
    return {{"p", 0.2, "probability of each edge", Kind::kProbability}};
  }

 private:
  UndirectedGraph generate_impl(int n, const ParamMap& params, std::uint64_t seed) const override {
    const double p = params.get("p");
    Rng rng(seed);
    UndirectedGraph g(n);
    for (int u = 0; u < n; ++u)
      for (int v = u + 1; v < n; ++v)
        if (rng.bernoulli(p)) g.add_edge(u, v);
    g.finalize();
    return g;
  }
};

class BaGenerator final : public Generator {
 public:
  std::string name() const override { return "ba"; }
  std::vector<ParamSpec> param_specs() const override {
    return {{"m", 5, "edges added by each new vertex", Kind::kInteger}};
  }

 private:
  void check_impl(int n, const ParamMap& params) const override {
    const int m = as_int(params, "m");
    CONCNAS_CHECK(m >= 1 && m < n, "generator 'ba': m={} must satisfy 1 <= m < nodes ({})", m,
                  n);
  }
  UndirectedGraph generate_impl(int n, const ParamMap& params, std::uint64_t seed) const override {
    const int m = as_int(params, "m");
    Rng rng(seed);
    UndirectedGraph g(n);
    // Each vertex appears in `pool` once per incident edge, so a uniform draw from the
    // pool picks a vertex with probability proportional to its degree.
    std::vector<int> pool;
    pool.reserve(2 * static_cast<std::size_t>(m) * n);
    std::vector<int> targets(m);
    for (int i = 0; i < m; ++i) targets[i] = i;  // the first new vertex links to all seeds
    std::vector<char> chosen(n, 0);
    for (int v = m; v < n; ++v) {
      for (int t : targets) {
        g.add_edge(v, t);
        pool.push_back(v);
        pool.push_back(t);
      }
      targets.clear();
      while (static_cast<int>(targets.size()) < m) {
        const int t = pool[rng.below(pool.size())];
        if (!chosen[t]) {
          chosen[t] = 1;
          targets.push_back(t);
        }
      }
      for (int t : targets) chosen[t] = 0;
    }
    g.finalize();
    return g;
  }
};

class WsGenerator final : public Generator {
 public:
  std::string name() const override { return "ws"; }
  std::vector<ParamSpec> param_specs() const override {
    return {{"k", 4, "ring degree (even)", Kind::kInteger},
            {"p", 0.75, "probability of rewiring each ring edge", Kind::kProbability}};
  }

 private:
  void check_impl(int n, const ParamMap& params) const override {
    const int k = as_int(params, "k");
    CONCNAS_CHECK(k >= 2 && k % 2 == 0, "generator 'ws': k={} must be even and at least 2", k);
    CONCNAS_CHECK(k < n, "generator 'ws': k={} must be smaller than nodes ({})", k, n);
  }
  UndirectedGraph generate_impl(int n, const ParamMap& params, std::uint64_t seed) const override {
    const int k = as_int(params, "k");
    const double p = params.get("p");
    Rng rng(seed);
    std::vector<std::vector<int>> adj(n);
    auto linked = [&](int a, int b) {
      return std::find(adj[a].begin(), adj[a].end(), b) != adj[a].end();
    };
    auto unlink = [&](int a, int b) {
      adj[a].erase(std::find(adj[a].begin(), adj[a].end(), b));
      adj[b].erase(std::find(adj[b].begin(), adj[b].end(), a));
    };
    for (int j = 1; j <= k / 2; ++j)
      for (int u = 0; u < n; ++u) {
        const int v = (u + j) % n;
        adj[u].push_back(v);
        adj[v].push_back(u);
      }
    // Pass j rewires the edge from each vertex to its j-th clockwise neighbour.
    for (int j = 1; j <= k / 2; ++j)
      for (int u = 0; u < n; ++u) {
        const int v = (u + j) % n;
        if (!rng.bernoulli(p)) continue;
        if (!linked(u, v)) continue;  // already rewired away by an earlier step
        if (static_cast<int>(adj[u].size()) >= n - 1) continue;  // no free target
        int w = static_cast<int>(rng.below(n));
        while (w == u || linked(u, w)) w = static_cast<int>(rng.below(n));
        unlink(u, v);
        adj[u].push_back(w);
        adj[w].push_back(u);
      }
    UndirectedGraph g(n);
    for (int u = 0; u < n; ++u)
      for (int w : adj[u])
        if (u < w) g.add_edge(u, w);
    g.finalize();
    return g;
  }
};

class DpGenerator final : public Generator {
 public:
  std::string name() const override { return "dp"; }
  std::vector<ParamSpec> param_specs() const override {
    return {{"alpha", 1.0, "scale of the link probability", Kind::kNonNegative},
            {"beta", 2.0, "decay exponent per unit of ring distance", Kind::kNonNegative},
            {"p", 0.75, "base of the distance decay", Kind::kProbability}};
  }

 private:
  UndirectedGraph generate_impl(int n, const ParamMap& params, std::uint64_t seed) const override {
    const double alpha = params.get("alpha");
    const double beta = params.get("beta");
    const double p = params.get("p");
    std::vector<double> link(n / 2 + 1, 0.0);
    for (int d = 1; d <= n / 2; ++d) link[d] = std::min(1.0, alpha * std::pow(p, beta * d));
    Rng rng(seed);
    UndirectedGraph g(n);
    for (int u = 0; u < n; ++u)
      for (int v = u + 1; v < n; ++v) {
        const int d = std::min(v - u, n - (v - u));
        if (rng.bernoulli(link[d])) g.add_edge(u, v);
      }
    g.finalize();
    return g;
  }
};

}  // namespace

std::unique_ptr<Generator> make_er_generator() { return std::make_unique<ErGenerator>(); }
std::unique_ptr<Generator> make_ba_generator() { return std::make_unique<BaGenerator>(); }
std::unique_ptr<Generator> make_ws_generator() { return std::make_unique<WsGenerator>(); }
std::unique_ptr<Generator> make_dp_generator() { return std::make_unique<DpGenerator>(); }

double dp_expected_edges(int nodes, double alpha, double beta, double p) {
  double total = 0;
  for (int d = 1; 2 * d < nodes; ++d) total += nodes * std::min(1.0, alpha * std::pow(p, beta * d));
  if (nodes % 2 == 0) total += (nodes / 2) * std::min(1.0, alpha * std::pow(p, beta * (nodes / 2)));
  return total;
}

}  // namespace concnas::graph
