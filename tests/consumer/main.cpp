// Built against an installed concnas: generates an architecture and checks its cost.
#include <cstdio>

#include "concnas/arch/architecture.h"
#include "concnas/arch/cost.h"
#include "concnas/config/architecture_yaml.h"

int main() {
  const auto generators = concnas::graph::builtin_generators();
  const auto policies = concnas::arch::builtin_staging_policies();
  concnas::arch::GenerateOptions options;
  options.generator = "ws";
  options.nodes = 16;
  options.seed = 3;
  const auto arch = concnas::arch::generate_architecture(options, generators, policies);
  const auto cost = concnas::arch::compute_cost(arch);
  const auto back = concnas::config::architecture_from_yaml(
      concnas::config::architecture_to_yaml(arch), "memory");
  if (!(back == arch) || cost.total.params <= 0) return 1;
  std::printf("consumer ok: %d vertices, %lld params\n", arch.dag.num_compute(),
              static_cast<long long>(cost.total.params));
  return 0;
}
