// Fuzz target: a training config (config::parse_train_config).
#include "concnas/config/train_config.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return concnas::fuzz::refusal_is_fine(
      [&] { concnas::config::parse_train_config(concnas::fuzz::as_text(data, size), "train.yaml"); });
}
