// Fuzz target: an edge-list file (graph::parse_edge_list).
#include "concnas/graph/edge_file.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return concnas::fuzz::refusal_is_fine(
      [&] { concnas::graph::parse_edge_list(concnas::fuzz::as_text(data, size), "fuzz.edges"); });
}
