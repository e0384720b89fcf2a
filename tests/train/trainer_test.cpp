#include "concnas/train/trainer.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "concnas/arch/baselines.h"
#include "concnas/arch/sep.h"
#include "concnas/common/atomic_file.h"
#include "concnas/common/error.h"
#include "concnas/common/rng.h"
#include "concnas/nn/network.h"
#include "support/temp_dir.h"

namespace concnas::train {
namespace {
namespace fs = std::filesystem;

// Tiny synthetic data (16x16, 4 classes) and a tiny network: seconds, not minutes.
config::TrainConfig tiny_config() {
  auto c = config::parse_train_config("", "tiny");
  c.data.dataset = "synthetic";
  c.data.synthetic_train = 384;
  c.data.synthetic_test = 128;
  c.data.validation = 64;
  c.arch.nodes = 6;
  c.arch.stem_channels = 8;
  c.arch.channel_limit = 16;
  c.arch.min_resolution = 2;
  c.train.epochs = 3;
  c.train.batch_size = 32;
  c.train.lr = 0.05;
  c.train.threads = 1;
  c.train.seed = 3;
  return c;
}

arch::Architecture tiny_arch(const config::TrainConfig& c) {
  return architecture_from_config(c, {1, c.data.synthetic_side, c.data.synthetic_side},
                                  c.data.synthetic_classes);
}

class ATrainer : public concnas::testing::TempDirTest {
 protected:
  std::string run(const std::string& name) const { return path(name); }
};

std::vector<torch::Tensor> weights_of(const arch::Architecture& a, const std::string& path) {
  nn::Network net(a);
  torch::load(net, path);
  std::vector<torch::Tensor> out;
  for (const auto& p : net->parameters()) out.push_back(p.detach().clone());
  for (const auto& b : net->buffers()) out.push_back(b.detach().clone());
  return out;
}

TEST_F(ATrainer, LearnsTheSyntheticTaskAndWritesTheRunFolder) {
  const auto c = tiny_config();
  Trainer trainer(c, tiny_arch(c), run("a"));
  const auto r = trainer.run(false);
  EXPECT_GT(r.test_accuracy, 0.8);  // chance is 0.25
  EXPECT_LE(r.test_accuracy, 1.0);
  EXPECT_EQ(r.epochs, 3);
  for (const char* f : {"config.yaml", "arch.yaml", "metrics.jsonl", "checkpoint.pt", "weights.pt", "eval.json"})
    EXPECT_TRUE(fs::exists(run("a") + "/" + f)) << f;
  std::ifstream metrics(run("a") + "/metrics.jsonl");
  int lines = 0;
  for (std::string line; std::getline(metrics, line); ++lines) {
    const auto j = nlohmann::json::parse(line);
    EXPECT_EQ(j["epoch"], lines + 1);
    EXPECT_GE(j["val_accuracy"].get<double>(), 0.0);
  }
  EXPECT_EQ(lines, 3);
  const auto eval = nlohmann::json::parse(read_file(run("a") + "/eval.json"));
  EXPECT_DOUBLE_EQ(eval["test_accuracy"].get<double>(), r.test_accuracy);
  EXPECT_EQ(eval["params"].get<int64_t>(), r.params);
}

TEST_F(ATrainer, ResumesAnInterruptedRunToTheSameWeights) {
  const auto c = tiny_config();
  const auto a = tiny_arch(c);
  Trainer whole(c, a, run("whole"));
  const auto full = whole.run(false);
  Trainer first(c, a, run("split"));
  first.set_stop_after_epochs(1);
  EXPECT_EQ(first.run(false).epochs, 1);
  EXPECT_FALSE(fs::exists(run("split") + "/eval.json"));
  Trainer rest(c, a, run("split"));
  const auto resumed = rest.run(true);
  EXPECT_EQ(resumed.epochs, 3);
  EXPECT_EQ(resumed.test_accuracy, full.test_accuracy);
  // Re-evaluating a finished run keeps the time of the runs that trained it.
  const double trained_for = resumed.seconds;
  EXPECT_GT(trained_for, 0.0);
  Trainer again(c, a, run("split"));
  EXPECT_DOUBLE_EQ(again.run(true).seconds, trained_for);
  const auto w1 = weights_of(a, run("whole") + "/weights.pt");
  const auto w2 = weights_of(a, run("split") + "/weights.pt");
  ASSERT_EQ(w1.size(), w2.size());
  for (std::size_t i = 0; i < w1.size(); ++i) EXPECT_TRUE(torch::equal(w1[i], w2[i])) << "tensor " << i;
}

// One network of full exchange shared by communication policies: a policy per step drawn
// from the step number, every edge on to evaluate. The hook sees every step once, in order,
// and a run resumed after an epoch ends with the uninterrupted run's weights.
TEST_F(ATrainer, CallsAStepHookThatAResumedRunRepeats) {
  const auto c = tiny_config();
  arch::SepOptions sep;
  sep.groups = 2;
  sep.depth = 3;
  sep.alpha = 1;
  sep.full = true;
  arch::NetworkOptions n;
  n.input = {1, c.data.synthetic_side, c.data.synthetic_side};
  n.stem_channels = 8;
  n.channel_limit = 16;
  n.min_resolution = 2;
  n.classes = c.data.synthetic_classes;
  const auto a = arch::sep_architecture(sep, arch::StagingOptions{}, n, 0);
  std::vector<std::int64_t> seen;
  const StepHook policy_per_step = [&](nn::NetworkImpl& net, std::int64_t step) {
    seen.push_back(step);
    if (step < 0) return net.set_inactive_edges({});
    Rng rng = Rng::derive(7, static_cast<std::uint64_t>(step));
    net.set_inactive_edges(arch::edges_left_out(arch::random_policy(sep, rng)));
  };
  Trainer whole(c, a, run("whole"));
  whole.set_before_step(policy_per_step);
  const auto r = whole.run(false);
  const std::int64_t steps = r.steps;
  ASSERT_GT(steps, 0);
  std::vector<std::int64_t> expected;
  for (int e = 0; e < 3; ++e) {
    for (std::int64_t s = e * steps / 3; s < (e + 1) * steps / 3; ++s) expected.push_back(s);
    expected.push_back(-1);  // validation after the epoch
  }
  expected.push_back(-1);  // the test set
  EXPECT_EQ(seen, expected);
  Trainer first(c, a, run("split"));
  first.set_before_step(policy_per_step);
  first.set_stop_after_epochs(1);
  first.run(false);
  Trainer rest(c, a, run("split"));
  rest.set_before_step(policy_per_step);
  EXPECT_EQ(rest.run(true).test_accuracy, r.test_accuracy);
  const auto w1 = weights_of(a, run("whole") + "/weights.pt");
  const auto w2 = weights_of(a, run("split") + "/weights.pt");
  ASSERT_EQ(w1.size(), w2.size());
  for (std::size_t i = 0; i < w1.size(); ++i) EXPECT_TRUE(torch::equal(w1[i], w2[i])) << "tensor " << i;
}

TEST_F(ATrainer, RefusesToOverwriteARunAndStartsAResumeOfNothingAfresh) {
  auto c = tiny_config();
  c.train.epochs = 1;
  Trainer t(c, tiny_arch(c), run("a"));
  t.run(false);
  EXPECT_THROW(Trainer(c, tiny_arch(c), run("a")).run(false), InvalidArgument);
  // A job killed before its first checkpoint and restarted with --resume trains from the start.
  const auto fresh = Trainer(c, tiny_arch(c), run("b")).run(true);
  EXPECT_EQ(fresh.epochs, 1);
  EXPECT_TRUE(fs::exists(run("b") + "/checkpoint.pt"));
}

TEST_F(ATrainer, LeavesNoRunFolderWhenTheDataCannotBeRead) {
  auto c = tiny_config();
  c.data.dataset = "mnist";
  c.data.path = run("no-such-data");
  EXPECT_THROW(Trainer(c, tiny_arch(c), run("c")).run(false), IoError);
  EXPECT_FALSE(fs::exists(run("c")));
  c = tiny_config();
  c.data.validation = 10000;  // more than the 384 training images
  EXPECT_THROW(Trainer(c, tiny_arch(c), run("d")).run(false), InvalidArgument);
  EXPECT_FALSE(fs::exists(run("d")));
}

TEST_F(ATrainer, StopsOnANonFiniteLossKeepingTheLastCheckpoint) {
  auto c = tiny_config();
  c.train.epochs = 4;
  Trainer good(c, tiny_arch(c), run("a"));
  good.set_stop_after_epochs(1);
  good.run(false);
  const std::string before = read_file(run("a") + "/checkpoint.pt");
  // Resume with a learning rate that blows the weights up.
  c.train.lr = 1e30;
  c.train.warmup_epochs = 0;
  Trainer bad(c, tiny_arch(c), run("a"));
  try {
    bad.run(true);
    FAIL() << "a diverging run finished";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("loss became"), std::string::npos) << e.what();
  }
  EXPECT_EQ(read_file(run("a") + "/checkpoint.pt"), before);
}

TEST_F(ATrainer, StopsAtAStepBudget) {
  auto c = tiny_config();
  c.train.max_steps = 5;
  Trainer t(c, tiny_arch(c), run("a"));
  const auto r = t.run(false);
  EXPECT_EQ(r.steps, 5);
  EXPECT_EQ(r.epochs, 1);
}

TEST(AChainBaseline, IsOneChainStagedLikeTheSearchSpace) {
  arch::NetworkOptions n;
  arch::StagingOptions s;
  s.policy = "greedy";
  const auto a = arch::chain_architecture(10, s, n, 0);
  EXPECT_EQ(a.dag.num_compute_arcs(), 9);
  EXPECT_EQ(a.num_staged(), 3);  // 16 -> 32 -> 64 -> 128 channels
}

}  // namespace
}  // namespace concnas::train

namespace concnas::train {
namespace {

class AShortRun : public concnas::testing::TempDirTest {};

TEST_F(AShortRun, LeavesItsWarmUpAndDecaysInsteadOfWarmingUpThroughout) {
  auto c = tiny_config();
  c.train.epochs = 1;
  c.train.warmup_epochs = 1;  // the default: a whole epoch, here the whole run
  Trainer(c, tiny_arch(c), path("r")).run(false);
  const auto line = nlohmann::json::parse(read_file(path("r") + "/metrics.jsonl"));
  // The last step's rate: warm-up takes at most a fifth of the steps, then cosine decay.
  EXPECT_LT(line["lr"].get<double>(), 0.1 * c.train.lr) << line.dump();
}

}  // namespace
}  // namespace concnas::train
