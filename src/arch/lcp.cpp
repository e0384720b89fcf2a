#include "concnas/arch/lcp.h"

#include <cmath>

#include <fmt/format.h>

#include "parallel_chains.h"
#include "concnas/common/error.h"

namespace concnas::arch {

void LcpOptions::sanity_check() const {
  CONCNAS_CHECK(branches >= 1 && branches <= 1024, "lcp: branches {} outside 1..1024", branches);
  CONCNAS_CHECK(depth >= 1 && static_cast<long long>(depth) * branches <= graph::kMaxVertices,
                "lcp: depth {} must be at least 1 and branches x depth at most {}", depth, graph::kMaxVertices);
  CONCNAS_CHECK(std::isfinite(width) && width > 0 && width <= 1024, "lcp: width {} must lie in (0, 1024]",
                format_number(width));
}

namespace {

int whole(const ParamMap& params, const std::string& key, int fallback) {
  return detail::whole_param("lcp", params, key, fallback);
}

}  // namespace

LcpOptions lcp_options(const ParamMap& params, int nodes) {
  for (const auto& [key, value] : params.values())
    CONCNAS_CHECK(key == "branches" || key == "depth" || key == "width",
                  "lcp: unknown parameter '{}' (known: branches, depth, width)", key);
  LcpOptions o;
  o.branches = whole(params, "branches", 2);
  CONCNAS_CHECK(o.branches >= 1, "lcp: branches {} must be at least 1", o.branches);
  CONCNAS_CHECK(params.contains("depth") || nodes > 0, "lcp: give its depth (or the number of vertices)");
  CONCNAS_CHECK(params.contains("depth") || nodes % o.branches == 0,
                "lcp: {} vertices do not split into {} branches of one depth", nodes, o.branches);
  o.depth = whole(params, "depth", nodes / o.branches);
  o.width = params.contains("width") ? params.get("width") : 1.0;
  o.sanity_check();
  CONCNAS_CHECK(nodes == 0 || nodes == o.branches * o.depth,
                "lcp: {} branches of depth {} are {} vertices, not the {} asked for", o.branches, o.depth,
                o.branches * o.depth, nodes);
  return o;
}

Architecture lcp_architecture(const LcpOptions& lcp, const StagingOptions& staging, const NetworkOptions& network,
                              std::uint64_t seed) {
  lcp.sanity_check();
  const auto p = detail::parallel_chains(lcp.branches, lcp.depth, lcp.width, staging, network, seed);
  Architecture a = rebuild_architecture(graph::Dag::from_compute_edges(lcp.branches * lcp.depth, p.arcs), network,
                                        p.staged, p.design);
  a.name = fmt::format("lcp-k{}-d{}-w{}-s{}", lcp.branches, lcp.depth, format_number(lcp.width), seed);
  a.provenance.generator = "lcp";
  a.provenance.params = {{"branches", lcp.branches}, {"depth", lcp.depth}, {"width", lcp.width}};
  a.provenance.seed = seed;
  a.provenance.orientation = "given";
  a.staging = staging;
  return a;
}

}  // namespace concnas::arch
