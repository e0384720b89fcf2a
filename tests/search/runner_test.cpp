#include "concnas/search/runner.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "concnas/common/atomic_file.h"
#include "support/temp_dir.h"

namespace concnas::search {
namespace {

namespace fs = std::filesystem;

SearchConfig tiny_config(const std::vector<std::string>& sets = {}) {
  return parse_search_config(R"(search:
  candidates: 6
  units: 3
  select: 2
  rungs: [{train_subset: 64, epochs: 1}, {train_subset: 96, epochs: 2}]
space:
  generators:
    ws: {k: {choices: [2, 4]}}
    dp: {}
  nodes: [10]
  stem_channels: [8]
  channel_limit: [16]
  baseline_nodes: 15
  baseline_stem_channels: 8
  baseline_channel_limit: 32
data:
  dataset: synthetic
  validation: 32
  synthetic_train: 160
  synthetic_test: 48
train:
  batch_size: 32
  threads: 1
)",
                             "tiny.yaml", sets);
}

// trials.jsonl without the wall times, which differ between runs.
std::vector<std::string> trials_without_time(const std::string& path) {
  std::vector<std::string> out;
  for (const auto& line : read_jsonl(path, false)) {
    auto j = nlohmann::json::parse(line);
    j.erase("seconds");
    out.push_back(j.dump());
  }
  return out;
}

class ASearchRun : public testing::TempDirTest {
 protected:
  SearchSummary run_to_end(const std::string& dir, bool resume = false) {
    SearchRunner runner(tiny_config(), dir);
    return runner.run(resume);
  }
  // Runs until the progress callback has seen `stage` reach `done`, then raises the stop flag.
  void run_until(const std::string& dir, const std::string& stage, std::int64_t done, bool resume = false) {
    SearchRunner runner(tiny_config(), dir);
    std::atomic<bool> stop{false};
    runner.set_stop_flag(&stop);
    runner.set_progress([&](const std::string& s, std::int64_t d, std::int64_t, const std::string&) {
      if (s == stage && d >= done) stop.store(true);
    });
    EXPECT_THROW(runner.run(resume), Interrupted);
  }
  void expect_same_results(const std::string& a, const std::string& b) {
    EXPECT_EQ(read_file(a + "/candidates.jsonl"), read_file(b + "/candidates.jsonl"));
    EXPECT_EQ(trials_without_time(a + "/trials.jsonl"), trials_without_time(b + "/trials.jsonl"));
    EXPECT_EQ(read_file(a + "/pareto.csv"), read_file(b + "/pareto.csv"));
    EXPECT_EQ(read_file(a + "/selected.json"), read_file(b + "/selected.json"));
  }
};

TEST_F(ASearchRun, WritesEveryResultFile) {
  const auto s = run_to_end(path("a"));
  EXPECT_EQ(s.candidates.size(), 8u);  // 6 sampled + chain + randwire
  for (const char* f : {"config.yaml", "candidates.jsonl", "trials.jsonl", "pareto.csv", "report.html",
                        "summary.json", "selected.json"})
    EXPECT_TRUE(fs::exists(path("a") + "/" + f)) << f;
  EXPECT_EQ(read_jsonl(path("a") + "/candidates.jsonl", false).size(), 8u);
  // Rung 1: 2 selected + 2 baselines; rung 2: the better half of the sampled + baselines.
  EXPECT_EQ(s.trials.size(), 4u + 3u);
  ASSERT_FALSE(s.front.empty());
  for (int id : s.front) {
    const auto& name = s.candidates[id].name;
    for (const char* f : {"arch.yaml", "arch.dot", "weights.pt"})
      EXPECT_TRUE(fs::exists(path("a") + "/best/" + name + "/" + f)) << name << "/" << f;
  }
  const std::string html = read_file(path("a") + "/report.html");
  EXPECT_NE(html.find("<svg"), std::string::npos);
  EXPECT_NE(html.find("c0-chain-n15"), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos);
}

TEST_F(ASearchRun, ResumedAfterAnInterruptionEndsWithTheSameResults) {
  run_to_end(path("whole"));
  // Stopped during scoring, with a record torn in half as by SIGKILL mid-write.
  run_until(path("cut"), "score", 3);
  {
    std::ofstream out(path("cut") + "/candidates.jsonl", std::ios::app);
    out << "{\"id\":7,\"kind\":\"samp";
  }
  // Stopped again in the middle of the second rung's training.
  run_until(path("cut"), "train rung 2/2", 1, /*resume=*/true);
  const auto trials_before = read_jsonl(path("cut") + "/trials.jsonl", false).size();
  EXPECT_GE(trials_before, 5u);
  run_to_end(path("cut"), /*resume=*/true);
  expect_same_results(path("whole"), path("cut"));
}

TEST_F(ASearchRun, RefusesToOverwriteOrToResumeWithAnotherConfig) {
  run_until(path("a"), "score", 2);
  EXPECT_THROW(run_to_end(path("a")), InvalidArgument);
  auto other = tiny_config();
  other.search.units = 4;
  SearchRunner runner(other, path("a"));
  try {
    runner.run(true);
    ADD_FAILURE() << "resumed with another config";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("different config"), std::string::npos) << e.what();
  }
}

TEST_F(ASearchRun, RecordsAFailedTrainingAndGoesOn) {
  // A learning rate this large turns the loss into inf/NaN in the first steps.
  SearchRunner runner(tiny_config({"train.lr=1e30"}), path("nan"));
  const auto s = runner.run(false);
  ASSERT_FALSE(s.trials.empty());
  for (const auto& t : s.trials) EXPECT_NE(t.failed.find("loss became"), std::string::npos) << t.failed;
  // Nothing is promoted past a failure; the report still gets written.
  for (const auto& t : s.trials) EXPECT_EQ(t.rung, 0);
  EXPECT_TRUE(fs::exists(path("nan/report.html")));
  const auto lines = read_jsonl(path("nan/trials.jsonl"), false);
  EXPECT_EQ(trial_from_json_line(lines.front(), "t").failed, s.trials.front().failed);
}

TEST_F(ASearchRun, ScoresOnlyWhenThereAreNoRungs) {
  SearchRunner runner(tiny_config({"search.rungs=[]"}), path("score"));
  const auto s = runner.run(false);
  EXPECT_EQ(s.candidates.size(), 8u);
  EXPECT_TRUE(s.trials.empty());
  EXPECT_NE(read_file(path("score/report.html")).find("score-only"), std::string::npos);
}

// Trains a rung's tasks last first, as ranks finishing out of order would.
class BackwardsExecutor : public TrialExecutor {
 public:
  BackwardsExecutor(SearchConfig config, std::string dir) : local_(std::move(config), std::move(dir)) {}
  void run(const std::vector<TrialTask>& tasks, const TrialHooks& hooks, const TrialDone& done) override {
    std::vector<TrialTask> reversed(tasks.rbegin(), tasks.rend());
    local_.run(reversed, hooks, done);
    ++rungs_run;
  }
  int rungs_run = 0;

 private:
  LocalTrialExecutor local_;
};

TEST_F(ASearchRun, LogsTrialsInOneProcesssOrderWhateverOrderTheyFinishIn) {
  run_to_end(path("in_order"));
  SearchRunner runner(tiny_config(), path("backwards"));
  auto executor = std::make_unique<BackwardsExecutor>(tiny_config(), path("backwards"));
  auto* backwards = executor.get();
  runner.set_executor(std::move(executor));
  runner.run(false);
  EXPECT_EQ(backwards->rungs_run, 2);
  expect_same_results(path("in_order"), path("backwards"));
  EXPECT_EQ(read_file(path("in_order/trials/c0-r1/weights.pt")), read_file(path("backwards/trials/c0-r1/weights.pt")));
}

// An executor whose own machinery fails while it trains (a lost rank, say).
class FailingExecutor : public TrialExecutor {
 public:
  FailingExecutor(SearchConfig config, std::string dir) : config_(std::move(config)), dir_(std::move(dir)) {}
  void run(const std::vector<TrialTask>& tasks, const TrialHooks& hooks, const TrialDone& done) override {
    TrialHooks failing = hooks;
    failing.check_stop = [] { throw Error("rank 2 is gone"); };
    done(train_trial(config_, dir_, *tasks.front().candidate, tasks.front().rung, failing));
  }

 private:
  SearchConfig config_;
  std::string dir_;
};

TEST_F(ASearchRun, StopsOnAnExecutorFailureWithoutLoggingAFailedTraining) {
  SearchRunner runner(tiny_config(), path("a"));
  runner.set_executor(std::make_unique<FailingExecutor>(tiny_config(), path("a")));
  try {
    runner.run(false);
    ADD_FAILURE() << "the executor's failure was swallowed";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "rank 2 is gone");
  }
  EXPECT_FALSE(fs::exists(path("a/trials.jsonl")) && !read_file(path("a/trials.jsonl")).empty());
}

}  // namespace
}  // namespace concnas::search
