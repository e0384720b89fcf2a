// Scoring a network outside a training run (train/evaluation.h) and a run's initial
// weights (Trainer::set_initial_weights).
#include "concnas/train/evaluation.h"

#include <gtest/gtest.h>

#include "concnas/common/error.h"
#include "concnas/train/trainer.h"
#include "support/temp_dir.h"

namespace concnas::train {
namespace {

config::TrainConfig tiny() {
  auto c = config::parse_train_config("", "tiny");
  c.data.dataset = "synthetic";
  c.data.synthetic_train = 256;
  c.data.synthetic_test = 64;
  c.data.validation = 64;
  c.arch.nodes = 5;
  c.arch.stem_channels = 8;
  c.arch.channel_limit = 16;
  c.arch.min_resolution = 2;
  c.train.epochs = 2;
  c.train.batch_size = 32;
  c.train.threads = 1;
  return c;
}

arch::Architecture arch_of(const config::TrainConfig& c) {
  return architecture_from_config(c, {1, c.data.synthetic_side, c.data.synthetic_side}, c.data.synthetic_classes);
}

// With the statistics of one batch, evaluation mode computes what training mode computes
// on that batch (up to the unbiased variance batch norm keeps).
TEST(BatchNormRecalibration, TakesTheStatisticsOfTheBatchesGiven) {
  const auto c = tiny();
  const auto images = load_images(c);
  ASSERT_EQ(images.val_x.size(0), 64);
  ASSERT_EQ(images.train_x.size(0), 192);
  nn::Network net(arch_of(c));
  torch::NoGradGuard no_grad;
  const auto x = images.train_x.narrow(0, 0, 128);
  net->train();
  const auto trained = net->forward(x);
  net->eval();
  const auto stale = net->forward(x);
  EXPECT_GT((stale - trained).abs().max().item<double>(), 1e-2);
  recalibrate_batch_norm(net, images.train_x, 128, 1);
  EXPECT_LT((net->forward(x) - trained).abs().max().item<double>(), 2e-2 * trained.abs().max().item<double>());
  for (const auto& m : net->modules(false))
    if (auto* bn = m->as<torch::nn::BatchNorm2d>()) {
      EXPECT_EQ(bn->options.momentum(), c10::optional<double>(0.1));
    }
  const auto [loss, accuracy] = evaluate(net, images.val_x, images.val_y, 16);
  EXPECT_GT(loss, 0);
  EXPECT_TRUE(accuracy >= 0 && accuracy <= 1);
}

class InitialWeights : public concnas::testing::TempDirTest {};

// A learning rate too small to move the weights: what the run ends with is what it started from.
TEST_F(InitialWeights, AreSetOnAFreshRunOnlyAndLoadBack) {
  auto c = tiny();
  c.train.lr = 1e-12;
  c.train.weight_decay = 0;
  const auto a = arch_of(c);
  int calls = 0;
  auto start = [&](nn::NetworkImpl& net) {
    ++calls;
    torch::NoGradGuard no_grad;
    for (auto& p : net.parameters()) p.fill_(0.01);
  };
  Trainer first(c, a, path("run"));
  first.set_initial_weights(start);
  first.set_stop_after_epochs(1);
  first.run(false);
  EXPECT_EQ(calls, 1);
  Trainer second(c, a, path("run"));
  second.set_initial_weights(start);
  second.run(true);
  EXPECT_EQ(calls, 1);
  nn::Network net(a);
  load_weights(*net, path("run/weights.pt"));
  for (const auto& p : net->parameters()) EXPECT_NEAR(p.flatten()[0].item<double>(), 0.01, 1e-6);
  EXPECT_THROW(load_weights(*net, path("none.pt")), Error);
}

}  // namespace
}  // namespace concnas::train
