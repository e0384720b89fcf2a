// Fuzz target: IDX files, plain or gzip (data::read_idx_images / read_idx_labels, chosen
// by the first byte).
#include "concnas/data/image_set.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string path = concnas::fuzz::scratch_folder() + "/fuzz.idx";
  concnas::fuzz::write_bytes(path, data + 1, size - 1);
  return concnas::fuzz::refusal_is_fine([&] {
    if (data[0] % 2 == 0)
      concnas::data::read_idx_images(path);
    else
      concnas::data::read_idx_labels(path);
  });
}
