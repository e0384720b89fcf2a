#include "concnas/data/dataset.h"

#include <algorithm>
#include <memory>

#include "concnas/common/error.h"
#include "concnas/common/rng.h"

namespace concnas::data {
namespace {

// An MNIST-format folder: four IDX files, gzip or plain.
class MnistFormat : public Dataset {
 public:
  MnistFormat(std::string name, std::string default_dir, bool flips)
      : name_(std::move(name)), default_dir_(std::move(default_dir)), flips_(flips) {}
  std::string name() const override { return name_; }
  ImageShape shape(const DatasetOptions&) const override { return {1, 28, 28, 10}; }
  bool flips_by_default() const override { return flips_; }
  bool needs_path() const override { return default_dir_.empty(); }
  ImageSet load(const DatasetOptions& o, Split split) const override {
    return load_mnist_format(o.path.empty() ? default_dir_ : o.path, split, name_);
  }

 private:
  std::string name_;
  std::string default_dir_;
  bool flips_;
};

// IDX files of any image size in an MNIST-style folder; the shape is read from them.
class IdxFiles : public Dataset {
 public:
  std::string name() const override { return "idx"; }
  ImageShape shape(const DatasetOptions& o) const override {
    const ImageSet test = load(o, Split::kTest);
    return {test.channels, test.height, test.width, test.num_classes};
  }
  bool flips_by_default() const override { return false; }
  bool needs_path() const override { return true; }
  ImageSet load(const DatasetOptions& o, Split split) const override {
    return load_mnist_format(o.path, split);
  }
};

class Cifar10 : public Dataset {
 public:
  std::string name() const override { return "cifar10"; }
  ImageShape shape(const DatasetOptions&) const override { return {3, 32, 32, 10}; }
  bool flips_by_default() const override { return true; }
  bool needs_path() const override { return true; }
  ImageSet load(const DatasetOptions& o, Split split) const override {
    return load_cifar10(o.path, split);
  }
};

// Generated stripes (make_synthetic): for tests and quick runs without files.
class Synthetic : public Dataset {
 public:
  std::string name() const override { return "synthetic"; }
  ImageShape shape(const DatasetOptions& o) const override {
    return {1, o.synthetic_side, o.synthetic_side, o.synthetic_classes};
  }
  bool flips_by_default() const override { return false; }
  bool needs_path() const override { return false; }
  std::optional<std::size_t> known_train_size(const DatasetOptions& o) const override {
    return static_cast<std::size_t>(o.synthetic_train);
  }
  ImageSet load(const DatasetOptions& o, Split split) const override {
    const bool train = split == Split::kTrain;
    return make_synthetic(static_cast<std::size_t>(train ? o.synthetic_train : o.synthetic_test), 1,
                          o.synthetic_side, o.synthetic_side, o.synthetic_classes,
                          train ? o.seed : o.seed + 1);
  }
};

// A seeded random `count` of `indices`, kept in index order.
void keep_random_subset(std::vector<std::size_t>& indices, std::size_t count, std::uint64_t seed) {
  Rng rng = Rng::derive(seed, 0x737562ULL);
  for (std::size_t i = indices.size(); i > 1; --i) std::swap(indices[i - 1], indices[rng.below(i)]);
  indices.resize(count);
  std::sort(indices.begin(), indices.end());
}

}  // namespace

namespace {

Registry<Dataset> make_registry() {
  Registry<Dataset> r("data set");
  r.add(std::make_unique<MnistFormat>("fashion-mnist", kFashionMnistDir, true));
  r.add(std::make_unique<MnistFormat>("mnist", "", false));
  r.add(std::make_unique<Cifar10>());
  r.add(std::make_unique<Synthetic>());
  r.add(std::make_unique<IdxFiles>());
  return r;
}

}  // namespace

const Registry<Dataset>& builtin_datasets() {
  static const Registry<Dataset> registry = make_registry();
  return registry;
}

TrainingParts load_training_parts(const Dataset& dataset, const DatasetOptions& options,
                                  std::int64_t validation, std::int64_t train_subset,
                                  std::uint64_t seed) {
  ImageSet train = dataset.load(options, Split::kTrain);
  ImageSet test = dataset.load(options, Split::kTest);
  CONCNAS_CHECK(static_cast<std::size_t>(validation) < train.size(),
                "data.validation: {} leaves nothing of {} training images", validation, train.size());
  auto [train_idx, val_idx] = split_indices(train.size(), static_cast<std::size_t>(validation), seed);
  if (train_subset > 0 && static_cast<std::size_t>(train_subset) < train_idx.size())
    keep_random_subset(train_idx, static_cast<std::size_t>(train_subset), seed);
  return {train.subset(train_idx), train.subset(val_idx), std::move(test)};
}

Normalisation Normalisation::of(const ImageSet& train) {
  auto [mean, std] = channel_stats(train);
  return {std::move(mean), std::move(std)};
}

}  // namespace concnas::data
