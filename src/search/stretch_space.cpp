#include "concnas/search/stretch_space.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "concnas/arch/cost.h"
#include "concnas/common/error.h"
#include "concnas/common/param_map.h"

namespace concnas::search {

void StretchSpaceOptions::sanity_check() const {
  CONCNAS_CHECK(std::isfinite(alpha) && alpha > 0, "alpha must be a positive number, got {}", format_number(alpha));
  CONCNAS_CHECK(std::isfinite(beta) && beta > 0 && beta <= 1, "beta must lie in (0, 1], got {}", format_number(beta));
  CONCNAS_CHECK(std::isfinite(min_ratio) && min_ratio > 0 && min_ratio <= 1, "min_ratio must lie in (0, 1], got {}",
                format_number(min_ratio));
  CONCNAS_CHECK(std::isfinite(step) && step >= 0.01 && step <= 1, "the ratio step must lie in [0.01, 1], got {}",
                format_number(step));
}

namespace {

// Sets of meeting vertices the rules may leave before the simulator runs on each.
constexpr std::size_t kMostCandidates = 20000;
// Partial meeting sets rule 1 may leave to explore.
constexpr std::size_t kMostVisits = 1000000;

// What the rules need of the chain: each position's seconds on unit 0, the bytes of the
// tensor entering it and of the pooled partial sum leaving the last one, on the link. Into
// position 0 the images travel, not the stem's output: a unit whose branch starts there
// runs the stem itself (arch::images_part, as the deployment plan sends them).
struct ChainSegments {
  std::vector<double> seconds;
  std::vector<double> in_bytes;
  double out_bytes = 0;
  int length() const { return static_cast<int>(seconds.size()); }
};

ChainSegments chain_segments(const arch::Architecture& chain, const arch::ArchitectureCost& cost,
                             const sim::DeviceModel& devices, const sim::LinkModel& link) {
  ChainSegments c;
  const auto order = arch::chain_order(chain);
  const double per_element = link.bytes_per_element;
  arch::Shape in = arch::images_part(chain).shape;
  for (int v : order) {
    c.seconds.push_back(sim::vertex_seconds(chain, cost, devices, v, 0));
    c.in_bytes.push_back(static_cast<double>(in.elements()) * per_element);
    in = chain.vertices[v].out;
  }
  // The last segment's output travels as the pooled partial sum (deploy/plan.h).
  c.out_bytes = static_cast<double>(chain.output.in.channels) * per_element;
  return c;
}

// Rule 1 for the segment of chain positions first..last: its input out to each of the
// other devices and their outputs back, at full width, against alpha times its compute.
struct Amortization {
  const ChainSegments& c;
  const sim::LinkModel& link;
  double alpha;
  int others;  // devices besides unit 0
  std::size_t visited = 0;

  bool amortized(int first, int last) const {
    double compute = 0;
    for (int i = first; i <= last; ++i) compute += c.seconds[i];
    const double out = last + 1 < c.length() ? c.in_bytes[last + 1] : c.out_bytes;
    const double per_message = link.latency_s + link.send_overhead_s + link.receive_overhead_s;
    const double comm = others * (2 * per_message + (c.in_bytes[first] + out) / link.bandwidth_bytes_per_s);
    return comm <= alpha * compute;
  }
  // Every meeting set (positions 1..n-2, a vertex between each two) whose segments all
  // pass: depth-first from the segment that starts at `first`.
  void sets(int first, std::vector<int>& meetings, std::vector<std::vector<int>>& out) {
    const int n = c.length();
    CONCNAS_CHECK(++visited <= kMostVisits, "alpha {} leaves more than {} partial sets of meeting vertices to "
                  "explore; lower it", format_number(alpha), kMostVisits);
    if (amortized(first, n - 1)) out.push_back(meetings);
    CONCNAS_CHECK(out.size() <= kMostCandidates, "alpha {} leaves more than {} sets of meeting vertices; lower it",
                  format_number(alpha), kMostCandidates);
    for (int m = first + 1; m <= n - 2; ++m) {
      if (!amortized(first, m - 1)) continue;
      meetings.push_back(m);
      sets(m + 1, meetings, out);
      meetings.pop_back();
    }
  }
};

// Meeting sets of a chain of n vertices, all of them: f(k) sets for a tail that starts at
// position k, f(k) = 1 + Σ_{m = k+1..n-2} f(m + 1).
double all_sets(int n) {
  std::vector<double> f(n + 2, 0.0);
  for (int k = n - 1; k >= 0; --k) {
    f[k] = 1;
    for (int m = k + 1; m <= n - 2; ++m) f[k] += f[m + 1];
  }
  return f[0];
}

std::vector<double> ratio_grid(double step) {
  std::vector<double> grid;
  const int count = static_cast<int>(std::lround(1.0 / step));
  for (int i = 1; i <= count; ++i) grid.push_back(std::min(1.0, std::round(i * step * 1e6) / 1e6));
  if (grid.empty() || grid.back() < 1.0) grid.push_back(1.0);
  return grid;
}

// One device's branches after rules 2-4. `work(d, w)`: a branch of those grid ratios'
// time on the device over the chain's on the fastest device.
struct BranchChoices {
  double after_beta = 0, after_min = 0;
  std::vector<arch::StretchBranch> largest;
};

BranchChoices branch_choices(const std::vector<std::vector<double>>& work, const std::vector<double>& grid,
                             const StretchSpaceOptions& o) {
  const int g = static_cast<int>(grid.size());
  auto fits = [&](int d, int w) { return work[d][w] <= o.beta * (1 + 1e-9); };
  auto capable = [&](int d, int w) { return grid[d] >= o.min_ratio - 1e-9 && grid[w] >= o.min_ratio - 1e-9; };
  BranchChoices b;
  for (int d = 0; d < g; ++d)
    for (int w = 0; w < g; ++w) {
      if (!fits(d, w)) continue;
      b.after_beta += 1;
      if (!capable(d, w)) continue;
      b.after_min += 1;
      const bool deeper = d + 1 < g && fits(d + 1, w);
      const bool wider = w + 1 < g && fits(d, w + 1);
      if (!deeper && !wider) b.largest.push_back({grid[d], grid[w]});
    }
  return b;
}

// Seconds of the compute vertices of `a` on unit `u` (no stem, head or transfers).
double body_seconds(const arch::Architecture& a, const sim::DeviceModel& devices, int u) {
  const auto cost = arch::compute_cost(a);
  double s = 0;
  for (int v = 0; v < a.dag.num_compute(); ++v) s += sim::vertex_seconds(a, cost, devices, v, u);
  return s;
}

// work[u][d][w]: the chain as one branch of grid ratios (d, w) on unit u, over `body`
// seconds; each such network built once and timed on every unit.
std::vector<std::vector<std::vector<double>>> branch_work(const arch::Architecture& chain,
                                                          const sim::DeviceModel& devices,
                                                          const std::vector<double>& grid, double body) {
  const std::size_t g = grid.size();
  std::vector<std::vector<std::vector<double>>> work(devices.units(),
                                                     std::vector<std::vector<double>>(g, std::vector<double>(g)));
  for (std::size_t d = 0; d < g; ++d)
    for (std::size_t w = 0; w < g; ++w) {
      const auto branch = arch::stretch_chain(chain, {{}, {{grid[d], grid[w]}}}).arch;
      for (int u = 0; u < devices.units(); ++u) work[u][d][w] = body_seconds(branch, devices, u) / body;
    }
  return work;
}

// The chain's seconds on unit `u` alone (its own stem and head too).
double chain_seconds_on(const arch::Architecture& chain, const arch::ArchitectureCost& cost,
                        const sim::DeviceModel& devices, int u) {
  const std::vector<int> parts(chain.dag.num_vertices(), 0);
  return sim::simulate(chain, cost, parts, devices.only({u}), sim::LinkModel{}).latency_s;
}

// Every combination of one branch per device from `choices`.
std::vector<std::vector<arch::StretchBranch>> combinations(const std::vector<BranchChoices>& choices) {
  std::vector<std::vector<arch::StretchBranch>> out{{}};
  for (const auto& c : choices) {
    std::vector<std::vector<arch::StretchBranch>> next;
    for (const auto& partial : out)
      for (const auto& b : c.largest) {
        next.push_back(partial);
        next.back().push_back(b);
      }
    out = std::move(next);
  }
  return out;
}

}  // namespace

StretchSpace prune_stretch_space(const arch::Architecture& chain, const sim::DeviceModel& devices,
                                 const sim::LinkModel& link, const StretchSpaceOptions& options) {
  options.sanity_check();
  devices.sanity_check();
  link.sanity_check();
  const auto cost = arch::compute_cost(chain);
  const auto segments = chain_segments(chain, cost, devices, link);
  const int units = devices.units();
  std::vector<double> alone(units);
  for (int u = 0; u < units; ++u) alone[u] = chain_seconds_on(chain, cost, devices, u);
  StretchSpace space;
  space.batch = devices.batch;
  space.chain_s = *std::min_element(alone.begin(), alone.end());

  const auto grid = ratio_grid(options.step);
  std::vector<std::vector<int>> sets;
  std::vector<int> meetings;
  Amortization{segments, link, options.alpha, units - 1}.sets(0, meetings, sets);
  std::vector<BranchChoices> choices;
  // Rule 2 per device: the whole chain as one branch of ratios (d, w) on it, against the
  // chain on the fastest device; segments scale alike.
  const int fastest = static_cast<int>(std::min_element(alone.begin(), alone.end()) - alone.begin());
  const double body = body_seconds(chain, devices, fastest);
  const auto work = branch_work(chain, devices, grid, body);
  for (int u = 0; u < units; ++u) choices.push_back(branch_choices(work[u], grid, options));
  const double per_branch = static_cast<double>(grid.size() * grid.size());
  double beta = 1, min = 1, largest = 1;
  for (const auto& c : choices) {
    beta *= c.after_beta;
    min *= c.after_min;
    largest *= static_cast<double>(c.largest.size());
  }
  const double n_sets = static_cast<double>(sets.size());
  space.rules = {{"space", all_sets(segments.length()) * std::pow(per_branch, units)},
                 {"alpha", n_sets * std::pow(per_branch, units)},
                 {"beta", n_sets * beta},
                 {"min_ratio", n_sets * min},
                 {"largest", n_sets * largest}};
  CONCNAS_CHECK(n_sets * largest <= kMostCandidates, "the rules leave {} candidates to simulate; lower alpha or beta",
                format_number(n_sets * largest));
  const auto all_branches = combinations(choices);
  for (const auto& set : sets)
    for (const auto& branches : all_branches) {
      StretchCandidate c;
      c.options = {set, branches};
      c.stretched = arch::stretch_chain(chain, c.options);
      c.predicted_s = sim::simulate(c.stretched.arch, arch::compute_cost(c.stretched.arch), c.stretched.parts,
                                    devices, link).latency_s;
      if (c.predicted_s < space.chain_s) space.survivors.push_back(std::move(c));
    }
  std::stable_sort(space.survivors.begin(), space.survivors.end(),
                   [](const StretchCandidate& a, const StretchCandidate& b) { return a.predicted_s < b.predicted_s; });
  space.rules.emplace_back("predicted", static_cast<double>(space.survivors.size()));
  return space;
}

}  // namespace concnas::search
