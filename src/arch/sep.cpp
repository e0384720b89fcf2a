#include "concnas/arch/sep.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "parallel_chains.h"
#include "concnas/common/error.h"

namespace concnas::arch {
namespace {

int whole(const ParamMap& params, const std::string& key, int fallback) {
  return detail::whole_param("sep", params, key, fallback);
}

// `policy` of sep_options: one number, the steps' permutation indices in base G!.
void read_policy(const ParamMap& params, SepOptions& o) {
  if (!params.contains("policy")) return;
  const double p = params.get("policy");
  if (p == -1) {
    o.full = true;
    return;
  }
  const double radix = static_cast<double>(permutation_count(o.groups));
  const double count = std::pow(radix, o.steps());
  CONCNAS_CHECK(std::floor(p) == p && p >= 0 && p < count && p <= 9007199254740992.0,
                "sep: policy {} must be -1 (full exchange) or a whole number in [0, {}) ({} permutations of {} "
                "groups, {} exchange steps)", format_number(p), format_number(count), format_number(radix), o.groups,
                o.steps());
  auto rest = static_cast<std::int64_t>(p);
  const auto r = static_cast<std::int64_t>(radix);
  for (int s = 0; s < o.steps(); ++s, rest /= r) o.permutations.push_back(static_cast<int>(rest % r));
}

// The steps' permutation indices as one number in base G! (sep_options' `policy`).
double policy_index(const SepOptions& o) {
  double index = 0;
  for (int s = o.steps() - 1; s >= 0; --s)
    index = index * static_cast<double>(permutation_count(o.groups)) + (o.permutations.empty() ? 0 : o.permutations[s]);
  return index;
}

std::string policy_name(const SepOptions& o) {
  if (o.full) return "full";
  return policy_index(o) == 0 ? "none" : "p" + format_number(policy_index(o));
}

// The groups that group g's block before step s feeds besides its own.
std::vector<int> receivers(const SepOptions& o, int s, int g) {
  std::vector<int> to;
  if (o.full) {
    for (int h = 0; h < o.groups; ++h)
      if (h != g) to.push_back(h);
  } else if (!o.permutations.empty()) {
    const int h = nth_permutation(o.groups, o.permutations[s])[g];
    if (h != g) to.push_back(h);
  }
  return to;
}

}  // namespace

void SepOptions::sanity_check() const {
  CONCNAS_CHECK(groups >= 1 && groups <= kMaxSepGroups, "sep: groups {} outside 1..{}", groups, kMaxSepGroups);
  CONCNAS_CHECK(depth >= 1 && depth <= 100000, "sep: depth {} outside 1..100000", depth);
  CONCNAS_CHECK(alpha >= 1 && alpha <= depth, "sep: alpha {} outside 1..depth ({})", alpha, depth);
  CONCNAS_CHECK(std::isfinite(width) && width > 0 && width <= 1024, "sep: width {} must lie in (0, 1024]",
                format_number(width));
  CONCNAS_CHECK(std::isfinite(share) && share > 0 && share <= 1, "sep: share {} must lie in (0, 1]",
                format_number(share));
  CONCNAS_CHECK(permutations.empty() || static_cast<int>(permutations.size()) == steps(),
                "sep: {} permutations for {} exchange steps", permutations.size(), steps());
  for (int p : permutations)
    CONCNAS_CHECK(p >= 0 && p < permutation_count(groups), "sep: permutation {} outside 0..{}", p, permutation_count(groups) - 1);
}

std::int64_t permutation_count(int n) {
  std::int64_t f = 1;
  for (int i = 2; i <= n; ++i) f *= i;
  return f;
}

std::vector<int> nth_permutation(int n, std::int64_t index) {
  CONCNAS_CHECK(n >= 1 && n <= 20 && index >= 0 && index < permutation_count(n), "permutation {} of {} elements outside "
                "0..{}", index, n, n >= 1 && n <= 20 ? permutation_count(n) - 1 : 0);
  std::vector<int> left(n), out;
  for (int i = 0; i < n; ++i) left[i] = i;
  for (int i = n; i >= 1; --i) {
    const std::int64_t block = permutation_count(i - 1);
    const auto at = static_cast<std::size_t>(index / block);
    out.push_back(left[at]);
    left.erase(left.begin() + static_cast<std::ptrdiff_t>(at));
    index %= block;
  }
  return out;
}

std::vector<std::pair<int, int>> exchange_arcs(const SepOptions& sep) {
  std::vector<std::pair<int, int>> arcs;
  for (int s = 0; s < sep.steps(); ++s) {
    const int block = (s + 1) * sep.alpha;
    for (int g = 0; g < sep.groups; ++g)
      for (int h : receivers(sep, s, g)) arcs.emplace_back(g * sep.depth + block - 1, h * sep.depth + block);
  }
  return arcs;
}

SepOptions random_policy(const SepOptions& base, Rng& rng) {
  SepOptions p = base;
  p.full = false;
  p.permutations.clear();
  for (int s = 0; s < p.steps(); ++s)
    p.permutations.push_back(static_cast<int>(rng.below(static_cast<std::uint64_t>(permutation_count(p.groups)))));
  return p;
}

std::vector<std::pair<int, int>> edges_left_out(const SepOptions& policy) {
  SepOptions full = policy;
  full.full = true;
  const auto made = exchange_arcs(policy);
  std::vector<std::pair<int, int>> out;
  for (const auto& e : exchange_arcs(full))
    if (std::find(made.begin(), made.end(), e) == made.end()) out.push_back(e);
  return out;
}

SepOptions sep_options(const ParamMap& params, int nodes) {
  for (const auto& [key, value] : params.values())
    CONCNAS_CHECK(key == "groups" || key == "depth" || key == "alpha" || key == "width" || key == "share" ||
                      key == "fp16" || key == "policy",
                  "sep: unknown parameter '{}' (known: groups, depth, alpha, width, share, fp16, policy)", key);
  SepOptions o;
  o.groups = whole(params, "groups", 4);
  CONCNAS_CHECK(o.groups >= 1 && o.groups <= kMaxSepGroups, "sep: groups {} outside 1..{}", o.groups, kMaxSepGroups);
  CONCNAS_CHECK(params.contains("depth") || nodes > 0, "sep: give its depth (or the number of vertices)");
  CONCNAS_CHECK(params.contains("depth") || nodes % o.groups == 0,
                "sep: {} vertices do not split into {} groups of one depth", nodes, o.groups);
  o.depth = whole(params, "depth", nodes / o.groups);
  o.alpha = whole(params, "alpha", 2);
  o.width = params.contains("width") ? params.get("width") : 1.0;
  o.share = params.contains("share") ? params.get("share") : 1.0;
  const int fp16 = whole(params, "fp16", 0);
  CONCNAS_CHECK(fp16 == 0 || fp16 == 1, "sep: fp16 must be 0 or 1, got {}", fp16);
  o.fp16 = fp16 == 1;
  o.sanity_check();  // the policy's range below needs valid groups, depth and alpha
  read_policy(params, o);
  CONCNAS_CHECK(nodes == 0 || nodes == o.groups * o.depth, "sep: {} groups of depth {} are {} vertices, not the {} "
                "asked for", o.groups, o.depth, o.groups * o.depth, nodes);
  return o;
}

Architecture sep_architecture(const SepOptions& sep, const StagingOptions& staging, const NetworkOptions& network,
                              std::uint64_t seed) {
  sep.sanity_check();
  auto p = detail::parallel_chains(sep.groups, sep.depth, sep.width, staging, network, seed);
  const EdgeSpec exchanged{sep.share, sep.fp16 ? Dtype::kFp16 : Dtype::kFp32};
  for (const auto& [from, to] : exchange_arcs(sep)) {
    p.arcs.push_back({from, to});
    if (!exchanged.is_default()) p.design[to].edges[from] = exchanged;
  }
  Architecture a = rebuild_architecture(graph::Dag::from_compute_edges(sep.groups * sep.depth, p.arcs), network,
                                        p.staged, p.design);
  a.name = fmt::format("sep-g{}-d{}-a{}-{}{}{}-s{}", sep.groups, sep.depth, sep.alpha, policy_name(sep),
                       sep.share == 1 ? "" : "-x" + format_number(sep.share), sep.fp16 ? "-fp16" : "", seed);
  a.provenance.generator = "sep";
  a.provenance.params = {{"groups", sep.groups}, {"depth", sep.depth}, {"alpha", sep.alpha}, {"width", sep.width},
                         {"share", sep.share}, {"fp16", sep.fp16 ? 1 : 0}};
  a.provenance.params.set("policy", sep.full ? -1 : policy_index(sep));
  a.provenance.seed = seed;
  a.provenance.orientation = "given";
  a.staging = staging;
  return a;
}

}  // namespace concnas::arch
