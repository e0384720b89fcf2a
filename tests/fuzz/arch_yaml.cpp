// Fuzz target: architecture YAML (config::architecture_from_yaml).
#include "concnas/config/architecture_yaml.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return concnas::fuzz::refusal_is_fine(
      [&] { concnas::config::architecture_from_yaml(concnas::fuzz::as_text(data, size), "fuzz.yaml"); });
}
