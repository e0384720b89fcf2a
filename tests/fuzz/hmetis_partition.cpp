// Fuzz target: an hMETIS partition file (partition::parse_partition) for the hypergraph
// of tests/fuzz/plan_arch.yaml, into 1 to 8 units.
#include "concnas/arch/cost.h"
#include "concnas/config/architecture_yaml.h"
#include "concnas/partition/hypergraph.h"
#include "fuzz_support.h"

namespace {

const concnas::partition::Hypergraph& hypergraph() {
  static const auto hg = [] {
    const auto arch = concnas::config::load_architecture(CONCNAS_FUZZ_DATA "/plan_arch.yaml");
    return concnas::partition::build_hypergraph(arch, concnas::arch::compute_cost(arch));
  }();
  return hg;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const int units = 1 + data[0] % 8;
  return concnas::fuzz::refusal_is_fine([&] {
    concnas::partition::parse_partition(concnas::fuzz::as_text(data + 1, size - 1), "fuzz.part", hypergraph(), units);
  });
}
