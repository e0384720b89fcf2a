#include "concnas/data/dataset.h"

#include <gtest/gtest.h>

#include "concnas/common/error.h"
#include "support/temp_dir.h"

namespace concnas::data {
namespace {

class ADataset : public concnas::testing::TempDirTest {};

TEST_F(ADataset, RegistryNamesEverySetAndRefusesUnknownOnes) {
  const auto& r = builtin_datasets();
  EXPECT_EQ(r.names(), (std::vector<std::string>{"fashion-mnist", "mnist", "cifar10", "synthetic", "idx"}));
  EXPECT_THROW(r.get("imagenet"), InvalidArgument);
  EXPECT_EQ(&r.get("mnist"), &builtin_datasets().get("mnist"));  // built once
}

TEST_F(ADataset, KnowsShapesFlipsAndPathsWithoutReadingImages) {
  const auto& r = builtin_datasets();
  DatasetOptions o;
  o.synthetic_side = 12;
  o.synthetic_classes = 3;
  const auto cifar = r.get("cifar10").shape(o);
  EXPECT_EQ(cifar.channels, 3);
  EXPECT_EQ(cifar.height, 32);
  const auto synthetic = r.get("synthetic").shape(o);
  EXPECT_EQ(synthetic.height, 12);
  EXPECT_EQ(synthetic.classes, 3);
  EXPECT_TRUE(r.get("fashion-mnist").flips_by_default());
  EXPECT_FALSE(r.get("mnist").flips_by_default());
  EXPECT_FALSE(r.get("fashion-mnist").needs_path());
  EXPECT_TRUE(r.get("cifar10").needs_path());
  EXPECT_EQ(r.get("synthetic").known_train_size(o), std::optional<std::size_t>(512));
  EXPECT_FALSE(r.get("mnist").known_train_size(o).has_value());
}

TEST_F(ADataset, IdxFilesGiveTheirOwnShape) {
  const auto train = make_synthetic(40, 1, 12, 10, 3, 1);
  const auto test = make_synthetic(20, 1, 12, 10, 3, 2);
  write_mnist_format(train, test, path("idx"), /*gzip=*/true);
  DatasetOptions o;
  o.path = path("idx");
  const auto& idx = builtin_datasets().get("idx");
  const auto shape = idx.shape(o);
  EXPECT_EQ(shape.height, 12);
  EXPECT_EQ(shape.width, 10);
  EXPECT_EQ(idx.load(o, Split::kTrain).size(), 40u);
}

TEST_F(ADataset, SplitsTrainingPartsBySeedAndRefusesAnEmptyTrainingPart) {
  const auto& synthetic = builtin_datasets().get("synthetic");
  DatasetOptions o;
  o.synthetic_train = 100;
  o.synthetic_test = 30;
  const auto a = load_training_parts(synthetic, o, 20, 50, 7);
  EXPECT_EQ(a.validation.size(), 20u);
  EXPECT_EQ(a.train.size(), 50u);
  EXPECT_EQ(a.test.size(), 30u);
  const auto b = load_training_parts(synthetic, o, 20, 50, 7);
  EXPECT_EQ(a.train.pixels, b.train.pixels);
  const auto c = load_training_parts(synthetic, o, 20, 50, 8);
  EXPECT_NE(a.train.pixels, c.train.pixels);
  EXPECT_THROW(load_training_parts(synthetic, o, 100, 0, 7), InvalidArgument);
  const auto n = Normalisation::of(a.train);
  ASSERT_EQ(n.mean.size(), 1u);
  EXPECT_GT(n.std[0], 0.0);
}

}  // namespace
}  // namespace concnas::data
