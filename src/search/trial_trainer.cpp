#include "trial_trainer.h"

#include <algorithm>
#include <filesystem>

#include <fmt/format.h>

#include "concnas/common/atomic_file.h"

namespace concnas::search::detail {
namespace fs = std::filesystem;

TrialTrainer::TrialTrainer(const SearchConfig& config, std::string dir,
                           const std::map<int, CandidateRecord>& candidates, TrialExecutor& executor,
                           SearchProgressFn progress, std::function<void()> check_stop)
    : config_(config),
      dir_(std::move(dir)),
      candidates_(candidates),
      executor_(executor),
      progress_(std::move(progress)),
      check_stop_(std::move(check_stop)) {
  const std::string path = dir_ + "/trials.jsonl";
  const auto lines = read_jsonl(path, /*repair=*/true);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    auto t = trial_from_json_line(lines[i], fmt::format("{} line {}", path, i + 1));
    trials_[{t.candidate, t.rung}] = t;
    lines_[{t.candidate, t.rung}] = lines[i];
  }
}

bool TrialTrainer::is_baseline(int id) const { return candidates_.at(id).candidate.kind != "sampled"; }

std::vector<TrialRecord> TrialTrainer::all() const {
  std::vector<TrialRecord> out;
  for (const auto& [key, t] : trials_) out.push_back(t);
  return out;
}

void TrialTrainer::report(const std::string& stage, std::int64_t done, std::int64_t total,
                          const std::string& detail) const {
  if (progress_) progress_(stage, done, total, detail);
}

std::vector<TrialRecord> TrialTrainer::train(const std::vector<int>& ids, int rung) {
  const std::string stage = fmt::format("train rung {}/{}", rung + 1, rungs());
  const auto total = static_cast<std::int64_t>(ids.size());
  std::int64_t finished = 0;
  std::vector<TrialTask> todo;
  for (int id : ids) {
    if (trials_.count({id, rung}))
      ++finished;
    else
      todo.push_back({&candidates_.at(id), rung});
  }
  report(stage, finished, total, "");
  const std::string log = dir_ + "/trials.jsonl";
  TrialHooks hooks{check_stop_, [&](const std::string& line) { report(stage, finished, total, line); }};
  executor_.run(todo, hooks, [&](const TrialRecord& t) {
    const std::string line = to_json_line(t);
    append_jsonl(log, line);
    trials_[{t.candidate, t.rung}] = t;
    lines_[{t.candidate, t.rung}] = line;
    ++finished;
    const auto& name = candidates_.at(t.candidate).name;
    report(stage, finished, total,
           t.failed.empty() ? fmt::format("{}: val {:.2f}% test {:.2f}%", name, 100 * t.val_accuracy,
                                          100 * t.test_accuracy)
                            : fmt::format("{}: training failed: {}", name, t.failed));
  });
  std::vector<TrialRecord> out;
  for (int id : ids) {
    CONCNAS_CHECK(trials_.count({id, rung}), "the trial executor did not train candidate {} at rung {}", id, rung + 1);
    out.push_back(trials_.at({id, rung}));
  }
  // Also when nothing was left to train: a run killed between a rung's last record and
  // this rewrite is put in order on resume.
  log_in_order(ids, rung);
  return out;
}

void TrialTrainer::log_in_order(const std::vector<int>& ids, int rung) const {
  const std::string path = dir_ + "/trials.jsonl";
  if (!fs::exists(path)) return;
  const auto lines = read_jsonl(path, /*repair=*/true);
  std::string text;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const auto t = trial_from_json_line(lines[i], fmt::format("{} line {}", path, i + 1));
    if (t.rung != rung || std::find(ids.begin(), ids.end(), t.candidate) == ids.end()) text += lines[i] + "\n";
  }
  for (int id : ids) text += lines_.at({id, rung}) + "\n";
  if (text != read_file(path)) write_file_atomic(path, text);
}

}  // namespace concnas::search::detail
