#include "concnas/config/train_config.h"

#include <gtest/gtest.h>

#include "concnas/common/error.h"

namespace concnas::config {
namespace {

void expect_error(const std::string& text, const std::vector<std::string>& sets, int line,
                  const std::string& what) {
  try {
    parse_train_config(text, "t.yaml", sets);
    ADD_FAILURE() << "accepted; expected '" << what << "'";
  } catch (const ParseError& e) {
    EXPECT_EQ(e.line(), line) << e.what();
    EXPECT_NE(std::string(e.what()).find(what), std::string::npos) << e.what();
  } catch (const InvalidArgument& e) {
    EXPECT_EQ(line, -1) << e.what();
    EXPECT_NE(std::string(e.what()).find(what), std::string::npos) << e.what();
  }
}

TEST(ATrainConfig, TakesDefaultsForEverythingNotStated) {
  const auto c = parse_train_config("train:\n  epochs: 3\n", "t.yaml");
  EXPECT_EQ(c.train.epochs, 3);
  EXPECT_EQ(c.train.batch_size, 128);
  EXPECT_EQ(c.data.dataset, "fashion-mnist");
  EXPECT_EQ(c.arch.generator, "dp");
  EXPECT_DOUBLE_EQ(c.train.label_smoothing, 0.1);
}

TEST(ATrainConfig, HoldsOutATenthOfAGeneratedSetByDefault) {
  // The default of 5000 would leave nothing of the synthetic set's 512 images.
  EXPECT_EQ(parse_train_config("data: {dataset: synthetic}\n", "t.yaml").data.validation, 51);
  EXPECT_EQ(parse_train_config("data: {dataset: synthetic, synthetic_train: 100000}\n", "t.yaml").data.validation,
            5000);
  EXPECT_EQ(parse_train_config("data: {dataset: fashion-mnist}\n", "t.yaml").data.validation, 5000);
  // A value given, in the file or by --set, is kept, and checked where the images are read.
  EXPECT_EQ(parse_train_config("data: {dataset: synthetic, validation: 500}\n", "t.yaml").data.validation, 500);
  EXPECT_EQ(parse_train_config("data: {dataset: synthetic}\n", "t.yaml", {"data.validation=7"}).data.validation, 7);
}

TEST(ATrainConfig, AppliesSetOverridesThroughTheSameParser) {
  const auto c = parse_train_config("train:\n  epochs: 3\n", "t.yaml",
                                    {"train.epochs=7", "data.train_subset=1000", "arch.params={p: 0.5}"});
  EXPECT_EQ(c.train.epochs, 7);
  EXPECT_EQ(c.data.train_subset, 1000);
  EXPECT_EQ(c.arch.params.get("p"), 0.5);
}

TEST(ATrainConfig, RoundTripsThroughItsResolvedYaml) {
  const auto c = parse_train_config("arch:\n  nodes: 12\n  params: {alpha: 0.5}\ndata:\n  flip: off\n",
                                    "t.yaml");
  const auto text = to_yaml(c);
  EXPECT_EQ(to_yaml(parse_train_config(text, "resolved.yaml")), text);
  EXPECT_NE(text.find("  nodes: 12\n"), std::string::npos);
}

TEST(ATrainConfig, NamesFileLineAndKeyOfBadInput) {
  expect_error("train:\n  epochs: 3\n  epochz: 4\n", {}, 3, "unknown key 'train.epochz'");
  expect_error("training:\n  epochs: 3\n", {}, 1, "unknown key 'training'");
  expect_error("train:\n  epochs: many\n", {}, 2, "'train.epochs' must be an integer");
  expect_error("train:\n  lr: -1\n", {}, 2, "train.lr: -1 must be positive");
  expect_error("data:\n  dataset: imagenet\n", {}, 2, "data.dataset: 'imagenet' is not one of");
  expect_error("data:\n  dataset: mnist\n", {}, 0, "data.path: required");
  expect_error("train: [1, 2\n", {}, 2, "invalid YAML");
  expect_error("", {"train.epochz=3"}, -1, "--set train.epochz: unknown key");
  expect_error("", {"epochs=3"}, -1, "section.key=value");
  expect_error("", {"train.epochs=abc"}, -1, "--set train.epochs: 'train.epochs' must be an integer");
  expect_error("", {"train.epochs=0"}, -1, "--set train.epochs: 0 must be at least 1");
}

}  // namespace
}  // namespace concnas::config

namespace concnas::config {
namespace {

TEST(ATrainConfig, NamesAKeyThatIsNotAPlainNameAndCutsLongValues) {
  expect_error("train:\n  {[1]: 2}: 3\n", {}, 2, "a key of 'train' must be a plain name");
  expect_error("[1]: 2\n", {}, 1, "a top-level key must be a plain name");
  expect_error("arch:\n  params: {[x]: 1}\n", {}, 2, "a key of 'arch.params' must be a plain name");
  try {
    parse_train_config("train:\n  epochs: " + std::string(100000, '7') + "x\n", "t.yaml");
    ADD_FAILURE() << "accepted";
  } catch (const ParseError& e) {
    EXPECT_LT(std::string(e.what()).size(), 200u) << e.what();
    EXPECT_NE(std::string(e.what()).find("..."), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace concnas::config

namespace concnas::config {
namespace {

TEST(ATrainConfig, BoundsEverySizeFromAbove) {
  expect_error("train:\n  threads: 100000000\n", {}, 2, "at most 1024");
  expect_error("data:\n  synthetic_train: 9223372036854775807\n", {}, 2, "at most 10000000");
  expect_error("arch:\n  nodes: 100000000\n", {}, 2, "must be at most 1000000");
}

}  // namespace
}  // namespace concnas::config
