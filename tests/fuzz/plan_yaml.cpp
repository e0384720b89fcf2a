// Fuzz target: a deployment's plan.yaml (config::load_plan), in a folder that also holds
// the architecture the seed plans were exported with (tests/fuzz/plan_arch.yaml).
#include <filesystem>

#include "concnas/config/plan_yaml.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::string dir = [] {
    const std::string d = concnas::fuzz::scratch_folder() + "/plan";
    std::filesystem::create_directories(d);
    std::filesystem::copy_file(CONCNAS_FUZZ_DATA "/plan_arch.yaml", d + "/arch.yaml",
                               std::filesystem::copy_options::overwrite_existing);
    return d;
  }();
  concnas::fuzz::write_bytes(dir + "/plan.yaml", data, size);
  return concnas::fuzz::refusal_is_fine([&] { concnas::config::load_plan(dir); });
}
