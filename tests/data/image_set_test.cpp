#include "concnas/data/image_set.h"

#include <gtest/gtest.h>

#include "support/expect_error.h"
#include "support/temp_dir.h"

#include <cmath>
#include <filesystem>
#include <functional>
#include <fstream>
#include <set>

#include "concnas/common/atomic_file.h"
#include "concnas/common/error.h"

namespace concnas::data {
namespace {
namespace fs = std::filesystem;

class AnImageSet : public concnas::testing::TempDirTest {};

void expect_same(const ImageSet& a, const ImageSet& b) {
  EXPECT_EQ(a.channels, b.channels);
  EXPECT_EQ(a.height, b.height);
  EXPECT_EQ(a.width, b.width);
  EXPECT_EQ(a.pixels, b.pixels);
  EXPECT_EQ(a.labels, b.labels);
}

TEST_F(AnImageSet, RoundTripsThroughIdxFilesPlainAndGzipped) {
  const auto train = make_synthetic(50, 1, 28, 28, 10, 1);
  const auto test = make_synthetic(20, 1, 28, 28, 10, 2);
  for (bool gzip : {false, true}) {
    const std::string d = path(gzip ? "gz" : "plain");
    write_mnist_format(train, test, d, gzip);
    EXPECT_TRUE(fs::exists(d + "/train-images-idx3-ubyte" + (gzip ? ".gz" : "")));
    expect_same(load_mnist_format(d, Split::kTrain), train);
    expect_same(load_mnist_format(d, Split::kTest), test);
  }
}

TEST_F(AnImageSet, RoundTripsThroughCifarBatches) {
  std::vector<ImageSet> batches;
  for (int i = 1; i <= 5; ++i) {
    batches.push_back(make_synthetic(7, 3, 32, 32, 10, static_cast<std::uint64_t>(i)));
    write_cifar_batch(batches.back(), path("data_batch_" + std::to_string(i) + ".bin"));
  }
  const auto test = make_synthetic(9, 3, 32, 32, 10, 9);
  write_cifar_batch(test, path("test_batch.bin"));
  const auto train = load_cifar10(dir_.string(), Split::kTrain);
  ASSERT_EQ(train.size(), 35u);
  EXPECT_EQ(std::vector<std::uint8_t>(train.image(7), train.image(8)),
            std::vector<std::uint8_t>(batches[1].image(0), batches[1].image(1)));
  expect_same(load_cifar10(dir_.string(), Split::kTest), test);
}

TEST_F(AnImageSet, ReadsDebiansFashionMnist) {
  if (!fs::exists(kFashionMnistDir)) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  const auto train = load_mnist_format(kFashionMnistDir, Split::kTrain);
  const auto test = load_mnist_format(kFashionMnistDir, Split::kTest);
  EXPECT_EQ(train.size(), 60000u);
  EXPECT_EQ(test.size(), 10000u);
  EXPECT_EQ(train.height, 28);
  EXPECT_EQ(train.num_classes, 10);
  std::set<int> labels(test.labels.begin(), test.labels.end());
  EXPECT_EQ(labels.size(), 10u);
  EXPECT_EQ(train.name, "fashion-mnist");
}

void expect_parse_error(const std::function<void()>& f, const std::string& fragment) {
  concnas::testing::expect_error_containing<ParseError>(f, fragment);
}

TEST_F(AnImageSet, RejectsCorruptIdxFiles) {
  write_mnist_format(make_synthetic(10, 1, 8, 8, 3, 1), make_synthetic(5, 1, 8, 8, 3, 2),
                     path("d"), false);
  const std::string images = path("d/train-images-idx3-ubyte");
  const std::string good = read_file(images);
  write_file_atomic(images, good.substr(0, good.size() - 7));
  expect_parse_error([&] { read_idx_images(images); }, "(truncated)");
  std::string bad_magic = good;
  bad_magic[3] = 0x01;
  write_file_atomic(images, bad_magic);
  expect_parse_error([&] { read_idx_images(images); }, "wrong magic number 0x00000801");
  write_file_atomic(images, good);
  expect_parse_error([&] { read_idx_labels(images); }, "wrong magic number 0x00000803 for IDX labels");
  // Labels for fewer images than there are.
  write_mnist_format(make_synthetic(10, 1, 8, 8, 3, 1), make_synthetic(5, 1, 8, 8, 3, 2),
                     path("e"), true);
  fs::copy_file(path("e/t10k-labels-idx1-ubyte.gz"), path("d/train-labels-idx1-ubyte.gz"));
  fs::remove(path("d/train-labels-idx1-ubyte"));
  expect_parse_error([&] { load_mnist_format(path("d"), Split::kTrain); }, "5 labels for 10 images");
  // A gzip stream cut short.
  const std::string gz = read_file(path("e/train-images-idx3-ubyte.gz"));
  write_file_atomic(path("e/train-images-idx3-ubyte.gz"), gz.substr(0, gz.size() / 2));
  expect_parse_error([&] { load_mnist_format(path("e"), Split::kTrain); }, "truncated gzip");
}

TEST_F(AnImageSet, NamesAMissingDataSetAndTheDebianPackage) {
  try {
    load_mnist_format(path("nothing"), Split::kTrain);
    FAIL();
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find("nothing/train-images-idx3-ubyte"), std::string::npos);
  }
  EXPECT_THROW(load_cifar10(path("nothing"), Split::kTest), IoError);
}

TEST_F(AnImageSet, RejectsCorruptCifarBatches) {
  write_file_atomic(path("test_batch.bin"), std::string(3073 + 100, '\0'));
  expect_parse_error([&] { load_cifar10(dir_.string(), Split::kTest); }, "whole number");
  std::string record(3073, '\0');
  record[0] = 12;
  write_file_atomic(path("test_batch.bin"), record);
  expect_parse_error([&] { load_cifar10(dir_.string(), Split::kTest); }, "label 12");
}

TEST(ASplit, IsSeededDisjointAndComplete) {
  const auto [train, val] = split_indices(100, 10, 7);
  EXPECT_EQ(val.size(), 10u);
  EXPECT_EQ(train.size(), 90u);
  std::set<std::size_t> all(train.begin(), train.end());
  all.insert(val.begin(), val.end());
  EXPECT_EQ(all.size(), 100u);
  EXPECT_EQ(split_indices(100, 10, 7).second, val);
  EXPECT_NE(split_indices(100, 10, 8).second, val);
  EXPECT_THROW(split_indices(10, 10, 0), InvalidArgument);
}

TEST(AChannelStat, IsTheMeanAndDeviationOfScaledPixels) {
  ImageSet s;
  s.channels = 1;
  s.height = 1;
  s.width = 2;
  s.pixels = {0, 255, 255, 255};
  s.labels = {0, 1};
  const auto [mean, std] = channel_stats(s);
  EXPECT_NEAR(mean[0], 0.75, 1e-12);
  EXPECT_NEAR(std[0], std::sqrt(0.75 - 0.5625), 1e-9);
}

TEST(ASyntheticSet, IsDeterministicAndUsesEveryClass) {
  const auto a = make_synthetic(200, 1, 16, 16, 5, 3);
  EXPECT_EQ(a.pixels, make_synthetic(200, 1, 16, 16, 5, 3).pixels);
  EXPECT_EQ(std::set<int>(a.labels.begin(), a.labels.end()).size(), 5u);
}

}  // namespace
}  // namespace concnas::data
