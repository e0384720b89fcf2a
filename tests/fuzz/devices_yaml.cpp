// Fuzz target: a devices file (config::devices_from_yaml) for 1 to 8 units.
#include "concnas/config/devices_yaml.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const int units = 1 + data[0] % 8;
  return concnas::fuzz::refusal_is_fine([&] {
    concnas::config::devices_from_yaml(concnas::fuzz::as_text(data + 1, size - 1), "devices.yaml", units);
  });
}
