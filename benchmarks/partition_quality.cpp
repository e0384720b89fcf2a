// Partition quality report: mean connectivity cost (bytes crossing units) of the refined
// METIS partitioner against METIS alone and the components method of the EDGE'23 paper's
// appendix (Hadidi et al.; docs/scoring.md), on 40- and 80-vertex architectures from every
// generator, for 2, 4 and 8 units.
//
//   concnas_partition_quality [--samples N] [--epsilon E] [--json FILE]
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include <nlohmann/json.hpp>

#include "concnas/arch/architecture.h"
#include "concnas/arch/cost.h"
#include "concnas/common/atomic_file.h"
#include "concnas/partition/partitioner.h"

int main(int argc, char** argv) {
  int samples = 20;
  double epsilon = 1.1;
  std::string json_path;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--samples") && i + 1 < argc) samples = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--epsilon") && i + 1 < argc) epsilon = std::atof(argv[++i]);
    else if (!std::strcmp(argv[i], "--json") && i + 1 < argc) json_path = argv[++i];
    else {
      std::fprintf(stderr, "usage: %s [--samples N] [--epsilon E] [--json FILE]\n", argv[0]);
      return 2;
    }
  }
  const auto generators = concnas::graph::builtin_generators();
  const auto policies = concnas::arch::builtin_staging_policies();
  const auto partitioners = concnas::partition::builtin_partitioners();
  const char* methods[] = {"metis", "metis-unrefined", "components"};
  nlohmann::ordered_json rows = nlohmann::ordered_json::array();
  std::printf("epsilon %.2f, %d architectures per row; mean bytes crossing units (KiB) and\n"
              "share of partitions within the bound\n", epsilon, samples);
  std::printf("%-4s %5s %5s %12s %12s %12s %8s %8s\n", "gen", "nodes", "units", "refined",
              "metis-alone", "components", "vs alone", "in bound");
  for (const char* g : {"er", "ba", "ws", "dp"})
    for (int nodes : {40, 80})
      for (int units : {2, 4, 8}) {
        double sum[3] = {0, 0, 0};
        int within[3] = {0, 0, 0};
        for (int s = 0; s < samples; ++s) {
          concnas::arch::GenerateOptions o;
          o.generator = g;
          o.nodes = nodes;
          o.seed = static_cast<std::uint64_t>(s);
          const auto a = concnas::arch::generate_architecture(o, generators, policies);
          const auto hg = concnas::partition::build_hypergraph(a, concnas::arch::compute_cost(a));
          concnas::partition::PartitionOptions po;
          po.units = units;
          po.epsilon = epsilon;
          po.seed = static_cast<std::uint64_t>(s);
          const double cap = concnas::partition::balance_cap(hg, po, 0);  // equal shares
          for (int m = 0; m < 3; ++m) {
            const auto parts = partitioners.get(methods[m]).partition(hg, po);
            sum[m] += static_cast<double>(concnas::partition::connectivity_cost(hg, parts, units));
            const auto w = concnas::partition::part_weights(hg, parts, units);
            within[m] += static_cast<double>(*std::max_element(w.begin(), w.end())) <= cap;
          }
        }
        for (double& x : sum) x /= samples;
        std::printf("%-4s %5d %5d %12.1f %12.1f %12.1f %7.1f%% %3d/%d/%d\n", g, nodes, units,
                    sum[0] / 1024, sum[1] / 1024, sum[2] / 1024,
                    100.0 * (sum[0] - sum[1]) / sum[1], within[0], within[1], within[2]);
        rows.push_back({{"generator", g}, {"nodes", nodes}, {"units", units},
                        {"mean_comm_bytes_refined", sum[0]}, {"mean_comm_bytes_metis_alone", sum[1]},
                        {"mean_comm_bytes_components", sum[2]},
                        {"within_bound", {within[0], within[1], within[2]}}});
      }
  if (!json_path.empty()) {
    nlohmann::ordered_json j{{"epsilon", epsilon}, {"samples", samples}, {"rows", rows}};
    concnas::write_file_atomic(json_path, j.dump(2) + "\n");
  }
  return 0;
}
