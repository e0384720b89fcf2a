#pragma once
/// \file
/// Images as the float tensor a network takes: scaled to [0, 1], then normalised per
/// channel. Training and deployment both call this, so they feed a network alike.
///
///     auto x = concnas::nn::input_tensor(set, normalisation, 0, set.size());

#include <torch/torch.h>

#include <cstddef>

#include "concnas/data/dataset.h"

namespace concnas::nn {

/// Images `first .. first + count` of `set` as N x C x H x W floats, (x / 255 - mean) / std
/// per channel; channels past the normalisation's lists take mean 0 and std 1. Throws
/// `InvalidArgument` when the range runs past the set.
torch::Tensor input_tensor(const data::ImageSet& set, const data::Normalisation& normalisation,
                           std::size_t first, std::size_t count);

}  // namespace concnas::nn
