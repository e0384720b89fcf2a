#pragma once
/// \file
/// Labelled image sets read from the standard on-disk formats, without LibTorch.
///
///     auto train = concnas::data::load_mnist_format("/usr/share/datasets/fashion-mnist",
///                                                   concnas::data::Split::kTrain);
///     train.size();        // 60000
///     train.image(0);      // pointer to C*H*W bytes
///
/// Formats: IDX (MNIST, Fashion-MNIST; gzip or plain, detected by content) and CIFAR-10's
/// binary batches. Small synthetic sets can be written in both formats for tests.

#include <cstdint>
#include <string>
#include <vector>

namespace concnas::data {

enum class Split { kTrain, kTest };

/// Images as bytes in N x C x H x W order, one label per image.
struct ImageSet {
  int channels = 0;
  int height = 0;
  int width = 0;
  int num_classes = 0;
  std::vector<std::uint8_t> pixels;
  std::vector<std::uint8_t> labels;
  std::string name;  ///< e.g. "fashion-mnist"

  std::size_t size() const { return labels.size(); }
  std::size_t image_bytes() const {
    return static_cast<std::size_t>(channels) * height * width;
  }
  const std::uint8_t* image(std::size_t i) const { return pixels.data() + i * image_bytes(); }
  /// The images at `indices`, in that order.
  ImageSet subset(const std::vector<std::size_t>& indices) const;
};

/// Where Debian's dataset-fashion-mnist package puts Fashion-MNIST.
inline constexpr const char* kFashionMnistDir = "/usr/share/datasets/fashion-mnist";

/// Reads `<dir>/{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]`. Throws `IoError`
/// naming the missing path (and, for the Debian location, the package that provides it)
/// and `ParseError` on a wrong magic number, mismatched counts or a truncated file.
ImageSet load_mnist_format(const std::string& dir, Split split, const std::string& name = "");
/// Reads CIFAR-10's `data_batch_1..5.bin` (train) or `test_batch.bin` (test) from `dir`.
ImageSet load_cifar10(const std::string& dir, Split split);

/// One IDX file's images (idx3) or labels (idx1); gzip is detected by content.
ImageSet read_idx_images(const std::string& path);
std::vector<std::uint8_t> read_idx_labels(const std::string& path);

/// Writes `set` as the four IDX files of an MNIST-format directory (gzip when `gzip`).
void write_mnist_format(const ImageSet& train, const ImageSet& test, const std::string& dir,
                        bool gzip);
/// Writes `set` as one CIFAR-10 binary batch file (3 x 32 x 32 images).
void write_cifar_batch(const ImageSet& set, const std::string& path);

/// A small deterministic set whose classes are learnable: class k is stripes (vertical for
/// even k, horizontal for odd k) of period 2 + k/2 at a seeded phase, on seeded noise.
ImageSet make_synthetic(std::size_t count, int channels, int height, int width, int classes,
                        std::uint64_t seed);

/// Splits `0..n-1` into (train, validation) index lists with `validation` seeded-random
/// members; both sorted ascending.
std::pair<std::vector<std::size_t>, std::vector<std::size_t>> split_indices(
    std::size_t n, std::size_t validation, std::uint64_t seed);

/// Per-channel mean and standard deviation of the pixels scaled to [0, 1].
std::pair<std::vector<double>, std::vector<double>> channel_stats(const ImageSet& set);

}  // namespace concnas::data
