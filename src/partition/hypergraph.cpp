#include "concnas/partition/hypergraph.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <sstream>

#include "concnas/common/error.h"

namespace concnas::partition {

std::int64_t Hypergraph::total_weight() const {
  std::int64_t total = 0;
  for (auto w : weight) total += w;
  return total;
}

std::int64_t Hypergraph::min_net_cost() const {
  std::int64_t best = 0;
  for (const auto& n : nets)
    if (best == 0 || n.cost < best) best = n.cost;
  return best;
}

Hypergraph build_hypergraph(const arch::Architecture& arch, const arch::ArchitectureCost& cost) {
  const auto& dag = arch.dag;
  Hypergraph hg;
  hg.num_compute = dag.num_compute();
  hg.weight.assign(dag.num_vertices(), 0);
  hg.pinned.assign(dag.num_vertices(), -1);
  for (int v = 0; v < dag.num_compute(); ++v) hg.weight[v] = cost.vertices.at(v).flops;
  hg.pinned[dag.input()] = 0;
  hg.pinned[dag.output()] = 0;
  // Sized up front: the search builds thousands of these a second.
  hg.nets_of.resize(dag.num_vertices());
  for (int v = 0; v < dag.num_vertices(); ++v)
    hg.nets_of[v].reserve(dag.predecessors(v).size() + 1);
  hg.nets.reserve(dag.num_vertices());
  // Nets in vertex id order (input last): deterministic output for files and METIS.
  for (int v = 0; v < dag.num_vertices(); ++v) {
    if (dag.successors(v).empty()) continue;  // the output vertex produces nothing
    Net net;
    net.driver = v;
    net.pins.reserve(dag.successors(v).size() + 1);
    net.pins.push_back(v);
    for (int s : dag.successors(v)) net.pins.push_back(s);
    net.cost = v == dag.input() ? cost.stem.output_bytes : cost.vertices.at(v).output_bytes;
    for (int p : net.pins) hg.nets_of[p].push_back(static_cast<int>(hg.nets.size()));
    hg.nets.push_back(std::move(net));
  }
  return hg;
}

std::int64_t connectivity_cost(const Hypergraph& hg, const std::vector<int>& parts, int units) {
  std::vector<char> seen(units, 0);
  std::int64_t total = 0;
  for (const auto& net : hg.nets) {
    int touched = 0;
    for (int p : net.pins)
      if (!seen[parts[p]]) {
        seen[parts[p]] = 1;
        ++touched;
      }
    for (int p : net.pins) seen[parts[p]] = 0;
    total += net.cost * (touched - 1);
  }
  return total;
}

std::vector<std::int64_t> part_weights(const Hypergraph& hg, const std::vector<int>& parts,
                                       int units) {
  std::vector<std::int64_t> w(units, 0);
  for (int v = 0; v < hg.num_vertices(); ++v) w[parts[v]] += hg.weight[v];
  return w;
}

void check_partition(const Hypergraph& hg, const std::vector<int>& parts, int units) {
  CONCNAS_CHECK(static_cast<int>(parts.size()) == hg.num_vertices(),
                "partition has {} entries for {} vertices", parts.size(), hg.num_vertices());
  for (int v = 0; v < hg.num_vertices(); ++v) {
    CONCNAS_CHECK(parts[v] >= 0 && parts[v] < units, "vertex {} is on unit {}, outside [0, {})",
                  v, parts[v], units);
    CONCNAS_CHECK(hg.pinned[v] < 0 || parts[v] == hg.pinned[v],
                  "vertex {} ({}) is pinned to unit {} but placed on unit {}", v,
                  v == hg.input() ? "input" : "output", hg.pinned[v], parts[v]);
  }
}

namespace {
// hMETIS numbers vertices from 1: compute vertices first, then input and output, which
// is exactly our id order shifted by one.
int hmetis_id(int v) { return v + 1; }
}  // namespace

std::string to_hmetis(const Hypergraph& hg) {
  std::string out = fmt::format("% concnas hypergraph: {} compute vertices, then input (id {}) "
                                "and output (id {}); net cost = bytes, vertex weight = FLOPs (at least 1: "
                                "hMETIS and KaHyPar take positive weights only)\n",
                                hg.num_compute, hmetis_id(hg.input()), hmetis_id(hg.output()));
  out += fmt::format("{} {} 11\n", hg.nets.size(), hg.num_vertices());
  for (const auto& net : hg.nets) {
    out += fmt::format("{}", std::max<std::int64_t>(1, net.cost));
    for (int p : net.pins) out += fmt::format(" {}", hmetis_id(p));
    out += '\n';
  }
  for (auto w : hg.weight) out += fmt::format("{}\n", std::max<std::int64_t>(1, w));
  return out;
}

std::string to_hmetis_fix(const Hypergraph& hg) {
  std::string out;
  for (int p : hg.pinned) out += fmt::format("{}\n", p);
  return out;
}

std::vector<int> parse_partition(const std::string& text, const std::string& source,
                                 const Hypergraph& hg, int units) {
  std::istringstream in(text);
  std::string line;
  std::vector<int> parts;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    const auto first = line.find_first_not_of(" \t\r");
    if (first == std::string::npos || line[first] == '%' || line[first] == '#') continue;
    const auto last = line.find_last_not_of(" \t\r");
    const std::string token = line.substr(first, last - first + 1);
    char* end = nullptr;
    errno = 0;
    const long unit = std::strtol(token.c_str(), &end, 10);
    if (errno != 0 || end != token.c_str() + token.size())
      throw ParseError(source, line_no, fmt::format("expected one unit id, got '{}'", token));
    if (unit < 0 || unit >= units)
      throw ParseError(source, line_no,
                       fmt::format("unit {} is outside [0, {})", unit, units));
    parts.push_back(static_cast<int>(unit));
  }
  const int n = hg.num_compute;
  if (static_cast<int>(parts.size()) == n) {
    parts.push_back(0);  // input
    parts.push_back(0);  // output
  }
  if (static_cast<int>(parts.size()) != n + 2)
    throw ParseError(source, 0,
                     fmt::format("has {} unit ids; expected {} (every vertex: compute, input, "
                                 "output) or {} (compute vertices only)",
                                 parts.size(), n + 2, n));
  try {
    check_partition(hg, parts, units);
  } catch (const InvalidArgument& e) {
    throw ParseError(source, 0, e.what());
  }
  return parts;
}

}  // namespace concnas::partition
