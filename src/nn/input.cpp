#include "concnas/nn/input.h"

#include <vector>

#include "concnas/common/error.h"

namespace concnas::nn {

torch::Tensor input_tensor(const data::ImageSet& set, const data::Normalisation& normalisation,
                           std::size_t first, std::size_t count) {
  CONCNAS_CHECK(first + count <= set.size(), "images {}..{} outside the {} of the set", first, first + count,
                set.size());
  const int c = set.channels;
  auto x = torch::from_blob(const_cast<std::uint8_t*>(set.pixels.data() + first * set.image_bytes()),
                            {static_cast<std::int64_t>(count), c, set.height, set.width}, torch::kUInt8)
               .to(torch::kFloat)
               .div_(255.0);
  std::vector<float> mean(c, 0.0F), std(c, 1.0F);
  for (int i = 0; i < c && i < static_cast<int>(normalisation.mean.size()); ++i)
    mean[i] = static_cast<float>(normalisation.mean[i]);
  for (int i = 0; i < c && i < static_cast<int>(normalisation.std.size()); ++i)
    std[i] = static_cast<float>(normalisation.std[i]);
  return x.sub_(torch::tensor(mean).view({1, c, 1, 1})).div_(torch::tensor(std).view({1, c, 1, 1}));
}

}  // namespace concnas::nn
