#pragma once
/// \file
/// The data sets concnas trains and runs on, behind one interface and one registry, and
/// the parts (training, validation, test) a training run uses.
///
///     const auto& fmnist = concnas::data::builtin_datasets().get("fashion-mnist");
///     concnas::data::DatasetOptions options;             // path empty: Debian's location
///     auto test = fmnist.load(options, concnas::data::Split::kTest);
///
/// Everything that depends on which data set is used (shape, classes, whether flips
/// suit it, where its files are) is a method here: no caller compares data set names.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "concnas/common/registry.h"
#include "concnas/data/image_set.h"

namespace concnas::data {

/// Where a data set is and, for the synthetic one, how large it is.
struct DatasetOptions {
  std::string path;  ///< folder of the files; empty: the data set's default folder
  std::int64_t synthetic_train = 512;
  std::int64_t synthetic_test = 128;
  int synthetic_side = 16;
  int synthetic_classes = 4;
  std::uint64_t seed = 0;  ///< the synthetic set's draws (test uses seed + 1)
};

/// Channels, height, width of one image, and the number of classes.
struct ImageShape {
  int channels = 1;
  int height = 28;
  int width = 28;
  int classes = 10;
};

class Dataset {
 public:
  virtual ~Dataset() = default;
  virtual std::string name() const = 0;
  /// Image shape and classes; reads at most a file header.
  virtual ImageShape shape(const DatasetOptions& options) const = 0;
  /// Whether horizontal flips are a label-preserving augmentation here (`data.flip: auto`).
  virtual bool flips_by_default() const = 0;
  /// Whether `options.path` must be given (no default folder and not generated).
  virtual bool needs_path() const = 0;
  /// The number of training images when it is known without reading files.
  virtual std::optional<std::size_t> known_train_size(const DatasetOptions&) const {
    return std::nullopt;
  }
  /// Reads (or generates) one split. Throws `IoError` / `ParseError` naming the file.
  virtual ImageSet load(const DatasetOptions& options, Split split) const = 0;
};

/// fashion-mnist, mnist, cifar10, synthetic and idx (any folder of IDX files named as
/// MNIST's). Built on first use and never changed, so its entries live as long as the
/// program and may be shared between threads.
const Registry<Dataset>& builtin_datasets();

/// What one training run reads: the training part (after the validation split and the
/// subset), the held-out validation part and the test set.
struct TrainingParts {
  ImageSet train, validation, test;
};

/// Splits off `validation` seeded-random training images and keeps a seeded-random
/// `train_subset` of the rest in index order (0 = all). Throws `InvalidArgument` naming
/// `data.validation` when it leaves no training image.
TrainingParts load_training_parts(const Dataset& dataset, const DatasetOptions& options,
                                  std::int64_t validation, std::int64_t train_subset,
                                  std::uint64_t seed);

/// The per-channel mean and standard deviation (of pixels scaled to [0, 1]) that images
/// are normalised with, in training and in deployment alike.
struct Normalisation {
  std::vector<double> mean;
  std::vector<double> std;
  /// That of the training part: `channel_stats(train)`.
  static Normalisation of(const ImageSet& train);
};

}  // namespace concnas::data
