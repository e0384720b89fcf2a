// Fuzz target: a CIFAR-10 binary batch (data::load_cifar10 reading test_batch.bin).
#include <filesystem>

#include "concnas/data/image_set.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::string dir = [] {
    const std::string d = concnas::fuzz::scratch_folder() + "/cifar";
    std::filesystem::create_directories(d);
    return d;
  }();
  concnas::fuzz::write_bytes(dir + "/test_batch.bin", data, size);
  return concnas::fuzz::refusal_is_fine([&] { concnas::data::load_cifar10(dir, concnas::data::Split::kTest); });
}
