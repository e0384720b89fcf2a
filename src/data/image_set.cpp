#include "concnas/data/image_set.h"

#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "concnas/common/atomic_file.h"
#include "concnas/common/error.h"
#include "concnas/common/rng.h"

namespace concnas::data {
namespace fs = std::filesystem;

namespace {

constexpr std::uint32_t kImagesMagic = 0x00000803;  // unsigned byte, 3 dimensions
constexpr std::uint32_t kLabelsMagic = 0x00000801;  // unsigned byte, 1 dimension
constexpr int kCifarSide = 32;

// Whole file, gunzipped when it starts with the gzip magic.
std::string read_maybe_gzip(const std::string& path) {
  std::string raw = read_file(path);
  if (raw.size() < 2 || static_cast<unsigned char>(raw[0]) != 0x1f ||
      static_cast<unsigned char>(raw[1]) != 0x8b)
    return raw;
  z_stream z{};
  if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) throw IoError("zlib: cannot start inflating " + path);
  z.next_in = reinterpret_cast<Bytef*>(raw.data());
  z.avail_in = static_cast<uInt>(raw.size());
  std::string out;
  char buffer[1 << 16];
  int status = Z_OK;
  while (status == Z_OK) {
    z.next_out = reinterpret_cast<Bytef*>(buffer);
    z.avail_out = sizeof(buffer);
    status = inflate(&z, Z_NO_FLUSH);
    out.append(buffer, sizeof(buffer) - z.avail_out);
    if (status == Z_BUF_ERROR && z.avail_in == 0) break;  // input ended early
  }
  inflateEnd(&z);
  if (status != Z_STREAM_END)
    throw ParseError(path, 0, "corrupt or truncated gzip data");
  return out;
}

std::uint32_t big_endian(const std::string& s, std::size_t at) {
  return (static_cast<std::uint32_t>(static_cast<unsigned char>(s[at])) << 24) |
         (static_cast<std::uint32_t>(static_cast<unsigned char>(s[at + 1])) << 16) |
         (static_cast<std::uint32_t>(static_cast<unsigned char>(s[at + 2])) << 8) |
         static_cast<std::uint32_t>(static_cast<unsigned char>(s[at + 3]));
}

void put_big_endian(std::string& s, std::uint32_t x) {
  for (int shift = 24; shift >= 0; shift -= 8) s.push_back(static_cast<char>((x >> shift) & 0xff));
}

void write_maybe_gzip(const std::string& path, const std::string& bytes, bool gzip) {
  if (!gzip) return write_file_atomic(path, bytes);
  z_stream z{};
  if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    throw IoError("zlib: cannot start compressing " + path);
  std::string out(deflateBound(&z, static_cast<uLong>(bytes.size())) + 64, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
  z.avail_in = static_cast<uInt>(bytes.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  const int status = deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  if (status != Z_STREAM_END) throw IoError("zlib: cannot compress " + path);
  write_file_atomic(path, out);
}

// `<dir>/<stem>` or `<dir>/<stem>.gz`, whichever exists.
std::string find_idx(const std::string& dir, const std::string& stem) {
  for (const std::string& candidate : {dir + "/" + stem + ".gz", dir + "/" + stem})
    if (fs::exists(candidate)) return candidate;
  std::string hint;
  if (fs::path(dir) == fs::path(kFashionMnistDir))
    hint = " (Debian's package dataset-fashion-mnist provides it: apt-get install dataset-fashion-mnist)";
  throw IoError(fmt::format("data set file {}/{}[.gz] not found{}", dir, stem, hint));
}

}  // namespace

ImageSet ImageSet::subset(const std::vector<std::size_t>& indices) const {
  ImageSet out;
  out.channels = channels;
  out.height = height;
  out.width = width;
  out.num_classes = num_classes;
  out.name = name;
  out.pixels.reserve(indices.size() * image_bytes());
  for (auto i : indices) {
    CONCNAS_CHECK(i < size(), "image index {} is outside the {} images", i, size());
    out.pixels.insert(out.pixels.end(), image(i), image(i) + image_bytes());
    out.labels.push_back(labels[i]);
  }
  return out;
}

ImageSet read_idx_images(const std::string& path) {
  const std::string s = read_maybe_gzip(path);
  if (s.size() < 16) throw ParseError(path, 0, "truncated IDX header");
  if (big_endian(s, 0) != kImagesMagic)
    throw ParseError(path, 0, fmt::format("wrong magic number 0x{:08x} for IDX images (expected "
                                          "0x{:08x})", big_endian(s, 0), kImagesMagic));
  ImageSet set;
  const std::size_t n = big_endian(s, 4);
  set.channels = 1;
  set.height = static_cast<int>(big_endian(s, 8));
  set.width = static_cast<int>(big_endian(s, 12));
  const std::size_t expected = 16 + n * set.image_bytes();
  if (s.size() != expected)
    throw ParseError(path, 0, fmt::format("holds {} bytes; {} images of {}x{} need {}{}", s.size(),
                                          n, set.height, set.width, expected,
                                          s.size() < expected ? " (truncated)" : ""));
  set.pixels.assign(s.begin() + 16, s.end());
  return set;
}

std::vector<std::uint8_t> read_idx_labels(const std::string& path) {
  const std::string s = read_maybe_gzip(path);
  if (s.size() < 8) throw ParseError(path, 0, "truncated IDX header");
  if (big_endian(s, 0) != kLabelsMagic)
    throw ParseError(path, 0, fmt::format("wrong magic number 0x{:08x} for IDX labels (expected "
                                          "0x{:08x})", big_endian(s, 0), kLabelsMagic));
  const std::size_t n = big_endian(s, 4);
  if (s.size() != 8 + n)
    throw ParseError(path, 0, fmt::format("holds {} bytes; {} labels need {}{}", s.size(), n,
                                          8 + n, s.size() < 8 + n ? " (truncated)" : ""));
  return {s.begin() + 8, s.end()};
}

ImageSet load_mnist_format(const std::string& dir, Split split, const std::string& name) {
  const std::string prefix = split == Split::kTrain ? "train" : "t10k";
  const std::string images_path = find_idx(dir, prefix + "-images-idx3-ubyte");
  const std::string labels_path = find_idx(dir, prefix + "-labels-idx1-ubyte");
  ImageSet set = read_idx_images(images_path);
  set.labels = read_idx_labels(labels_path);
  if (set.labels.size() * set.image_bytes() != set.pixels.size())
    throw ParseError(labels_path, 0, fmt::format("{} labels for {} images in {}", set.labels.size(),
                                                 set.pixels.size() / std::max<std::size_t>(1, set.image_bytes()),
                                                 images_path));
  set.num_classes = set.labels.empty() ? 0 : *std::max_element(set.labels.begin(), set.labels.end()) + 1;
  set.num_classes = std::max(set.num_classes, 10);
  set.name = name.empty() ? fs::path(dir).filename().string() : name;
  return set;
}

ImageSet load_cifar10(const std::string& dir, Split split) {
  std::vector<std::string> files;
  if (split == Split::kTrain)
    for (int i = 1; i <= 5; ++i) files.push_back(fmt::format("{}/data_batch_{}.bin", dir, i));
  else
    files.push_back(dir + "/test_batch.bin");
  ImageSet set;
  set.channels = 3;
  set.height = kCifarSide;
  set.width = kCifarSide;
  set.num_classes = 10;
  set.name = "cifar10";
  const std::size_t record = 1 + set.image_bytes();
  for (const auto& f : files) {
    if (!fs::exists(f)) throw IoError(fmt::format("CIFAR-10 batch {} not found", f));
    const std::string s = read_file(f);
    if (s.empty() || s.size() % record != 0)
      throw ParseError(f, 0, fmt::format("holds {} bytes, not a whole number of {}-byte records "
                                         "(truncated?)", s.size(), record));
    for (std::size_t at = 0; at < s.size(); at += record) {
      const auto label = static_cast<std::uint8_t>(s[at]);
      if (label >= 10)
        throw ParseError(f, 0, fmt::format("record {} has label {}, outside 0..9", at / record, label));
      set.labels.push_back(label);
      set.pixels.insert(set.pixels.end(), s.begin() + static_cast<std::ptrdiff_t>(at + 1),
                        s.begin() + static_cast<std::ptrdiff_t>(at + record));
    }
  }
  return set;
}

void write_mnist_format(const ImageSet& train, const ImageSet& test, const std::string& dir,
                        bool gzip) {
  fs::create_directories(dir);
  for (const auto& [set, prefix] : {std::pair<const ImageSet&, std::string>{train, "train"},
                                    std::pair<const ImageSet&, std::string>{test, "t10k"}}) {
    CONCNAS_CHECK(set.channels == 1, "IDX images have one channel, this set has {}", set.channels);
    std::string images;
    put_big_endian(images, kImagesMagic);
    put_big_endian(images, static_cast<std::uint32_t>(set.size()));
    put_big_endian(images, static_cast<std::uint32_t>(set.height));
    put_big_endian(images, static_cast<std::uint32_t>(set.width));
    images.append(set.pixels.begin(), set.pixels.end());
    std::string labels;
    put_big_endian(labels, kLabelsMagic);
    put_big_endian(labels, static_cast<std::uint32_t>(set.size()));
    labels.append(set.labels.begin(), set.labels.end());
    const std::string ext = gzip ? ".gz" : "";
    write_maybe_gzip(dir + "/" + prefix + "-images-idx3-ubyte" + ext, images, gzip);
    write_maybe_gzip(dir + "/" + prefix + "-labels-idx1-ubyte" + ext, labels, gzip);
  }
}

void write_cifar_batch(const ImageSet& set, const std::string& path) {
  CONCNAS_CHECK(set.channels == 3 && set.height == kCifarSide && set.width == kCifarSide,
                "CIFAR-10 images are 3x32x32, this set has {}x{}x{}", set.channels, set.height,
                set.width);
  std::string out;
  for (std::size_t i = 0; i < set.size(); ++i) {
    out.push_back(static_cast<char>(set.labels[i]));
    out.append(reinterpret_cast<const char*>(set.image(i)), set.image_bytes());
  }
  write_file_atomic(path, out);
}

ImageSet make_synthetic(std::size_t count, int channels, int height, int width, int classes,
                        std::uint64_t seed) {
  CONCNAS_CHECK(classes >= 2 && height >= 4 && width >= 4 && channels >= 1,
                "a synthetic set needs >= 2 classes and images of at least 1x4x4");
  ImageSet set;
  set.channels = channels;
  set.height = height;
  set.width = width;
  set.num_classes = classes;
  set.name = "synthetic";
  Rng rng(seed);
  for (std::size_t i = 0; i < count; ++i) {
    const int label = static_cast<int>(rng.below(static_cast<std::uint64_t>(classes)));
    set.labels.push_back(static_cast<std::uint8_t>(label));
    // Class k: stripes, vertical for even k and horizontal for odd k, of period 2 + k/2,
    // at a random phase, on noise. Learnable through global pooling, unlike a position.
    const bool horizontal = label % 2 == 1;
    const int period = 2 + label / 2;
    const int phase = static_cast<int>(rng.below(static_cast<std::uint64_t>(period)));
    for (int c = 0; c < channels; ++c)
      for (int y = 0; y < height; ++y)
        for (int x = 0; x < width; ++x) {
          const bool on = ((horizontal ? y : x) + phase) % period == 0;
          const int noise = static_cast<int>(rng.below(64));
          set.pixels.push_back(static_cast<std::uint8_t>(on ? 160 + noise : noise));
        }
  }
  return set;
}

std::pair<std::vector<std::size_t>, std::vector<std::size_t>> split_indices(
    std::size_t n, std::size_t validation, std::uint64_t seed) {
  CONCNAS_CHECK(validation < n, "a validation split of {} leaves nothing of {} images to train",
                validation, n);
  std::vector<std::size_t> order(n);
  for (std::size_t i = 0; i < n; ++i) order[i] = i;
  Rng rng = Rng::derive(seed, 0x76616cULL);
  for (std::size_t i = n; i > 1; --i) std::swap(order[i - 1], order[rng.below(i)]);
  std::vector<std::size_t> val(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(validation));
  std::vector<std::size_t> train(order.begin() + static_cast<std::ptrdiff_t>(validation), order.end());
  std::sort(val.begin(), val.end());
  std::sort(train.begin(), train.end());
  return {train, val};
}

std::pair<std::vector<double>, std::vector<double>> channel_stats(const ImageSet& set) {
  std::vector<double> sum(set.channels, 0), sq(set.channels, 0);
  const std::size_t plane = static_cast<std::size_t>(set.height) * set.width;
  for (std::size_t i = 0; i < set.size(); ++i)
    for (int c = 0; c < set.channels; ++c) {
      const std::uint8_t* p = set.image(i) + c * plane;
      for (std::size_t j = 0; j < plane; ++j) {
        const double x = p[j] / 255.0;
        sum[c] += x;
        sq[c] += x * x;
      }
    }
  const double count = static_cast<double>(set.size() * plane);
  std::vector<double> mean(set.channels), std(set.channels);
  for (int c = 0; c < set.channels; ++c) {
    mean[c] = count > 0 ? sum[c] / count : 0;
    std[c] = count > 0 ? std::sqrt(std::max(1e-12, sq[c] / count - mean[c] * mean[c])) : 1;
  }
  return {mean, std};
}

}  // namespace concnas::data
