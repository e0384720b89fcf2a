#include "trial_trainer.h"

#include <algorithm>
#include <exception>
#include <filesystem>

#include <fmt/format.h>

#include "concnas/common/atomic_file.h"
#include "concnas/data/dataset.h"
#include "concnas/train/trainer.h"

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
  if (!todo.empty()) log_in_order(ids, rung);
  return out;
}

void TrialTrainer::log_in_order(const std::vector<int>& ids, int rung) const {
  const std::string path = dir_ + "/trials.jsonl";
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

namespace concnas::search {
namespace fs = std::filesystem;

std::string trial_folder(const std::string& run_dir, int candidate, int rung) {
  return fmt::format("{}/trials/c{}-r{}", run_dir, candidate, rung + 1);
}

TrialRecord train_trial(const SearchConfig& config, const std::string& run_dir, const CandidateRecord& record,
                        int rung, const TrialHooks& hooks) {
  const auto& spec = config.search.rungs.at(rung);
  const int id = record.candidate.id;
  const auto [input, classes] = train::dataset_shape(config.base);
  train::TrainerOptions options{config.base.train, config.base.data};
  options.data.train_subset = spec.train_subset;
  options.train.epochs = spec.epochs;
  const std::string dir = trial_folder(run_dir, id, rung);
  train::Trainer trainer(data::builtin_datasets().get(options.data.dataset), options,
                         build_candidate(record.candidate, config, input, classes), dir);
  // What the hooks throw (a stop, an executor's own failure) propagates as it is, never
  // as a failed training.
  std::exception_ptr from_hooks;
  trainer.set_progress([&](int epoch, int epochs, std::int64_t b, std::int64_t batches, double loss) {
    try {
      if (hooks.check_stop) hooks.check_stop();
      if (hooks.detail)
        hooks.detail(fmt::format("{} epoch {}/{} batch {}/{} loss {:.3f}", record.name, epoch, epochs, b, batches, loss));
    } catch (...) {
      from_hooks = std::current_exception();
      throw;
    }
  });
  TrialRecord t{id, rung, spec.train_subset, spec.epochs, 0, 0, 0, record.params, 0, ""};
  try {
    const auto r = trainer.run(fs::exists(dir + "/checkpoint.pt"));
    t.val_accuracy = r.val_accuracy;
    t.test_accuracy = r.test_accuracy;
    t.test_loss = r.test_loss;
    t.params = r.params;
    t.seconds = r.seconds;
  } catch (const Interrupted&) {
    throw;
  } catch (const IoError&) {
    throw;  // missing data or a full disk: a fault of this host, not of the candidate
  } catch (const Error& e) {
    if (from_hooks) std::rethrow_exception(from_hooks);
    // A training that fails (a NaN loss) is recorded, not retried on every resume: it
    // ranks last and is never promoted.
    t.failed = e.what();
    if (t.failed.empty()) t.failed = "failed";
  }
  return t;
}

void LocalTrialExecutor::run(const std::vector<TrialTask>& tasks, const TrialHooks& hooks, const TrialDone& done) {
  for (const auto& task : tasks) {
    if (hooks.check_stop) hooks.check_stop();
    done(train_trial(config_, dir_, *task.candidate, task.rung, hooks));
  }
}

}  // namespace concnas::search
