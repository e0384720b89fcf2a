#include "trial_trainer.h"

#include <filesystem>

#include <fmt/format.h>

#include "concnas/data/dataset.h"
#include "concnas/train/trainer.h"

namespace concnas::search::detail {
namespace fs = std::filesystem;

TrialTrainer::TrialTrainer(const SearchConfig& config, std::string dir,
                           const std::map<int, CandidateRecord>& candidates, SearchProgressFn progress,
                           std::function<void()> check_stop)
    : config_(config),
      dir_(std::move(dir)),
      candidates_(candidates),
      progress_(std::move(progress)),
      check_stop_(std::move(check_stop)) {
  const std::string path = dir_ + "/trials.jsonl";
  const auto lines = read_jsonl(path, /*repair=*/true);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    auto t = trial_from_json_line(lines[i], fmt::format("{} line {}", path, i + 1));
    trials_[{t.candidate, t.rung}] = t;
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
  for (int id : ids) finished += trials_.count({id, rung}) ? 1 : 0;
  report(stage, finished, total, "");
  std::vector<TrialRecord> out;
  for (int id : ids) {
    if (!trials_.count({id, rung})) {
      check_stop_();
      const auto& record = candidates_.at(id);
      const auto t = train_one(record, rung, [&](const std::string& line) { report(stage, finished, total, line); });
      append_jsonl(dir_ + "/trials.jsonl", to_json_line(t));
      trials_[{id, rung}] = t;
      ++finished;
      report(stage, finished, total,
             t.failed.empty() ? fmt::format("{}: val {:.2f}% test {:.2f}%", record.name, 100 * t.val_accuracy,
                                            100 * t.test_accuracy)
                              : fmt::format("{}: training failed: {}", record.name, t.failed));
    }
    out.push_back(trials_.at({id, rung}));
  }
  return out;
}

TrialRecord TrialTrainer::train_one(const CandidateRecord& record, int rung,
                                    const std::function<void(const std::string&)>& detail) {
  const auto& spec = config_.search.rungs[rung];
  const int id = record.candidate.id;
  const auto [input, classes] = train::dataset_shape(config_.base);
  train::TrainerOptions options{config_.base.train, config_.base.data};
  options.data.train_subset = spec.train_subset;
  options.train.epochs = spec.epochs;
  const std::string trial_dir = fmt::format("{}/trials/c{}-r{}", dir_, id, rung + 1);
  train::Trainer trainer(data::builtin_datasets().get(options.data.dataset), options,
                         build_candidate(record.candidate, config_, input, classes), trial_dir);
  trainer.set_progress([&](int epoch, int epochs, std::int64_t b, std::int64_t batches, double loss) {
    check_stop_();
    detail(fmt::format("{} epoch {}/{} batch {}/{} loss {:.3f}", record.name, epoch, epochs, b, batches, loss));
  });
  TrialRecord t{id, rung, spec.train_subset, spec.epochs, 0, 0, 0, record.params, 0, ""};
  try {
    const auto r = trainer.run(fs::exists(trial_dir + "/checkpoint.pt"));
    t.val_accuracy = r.val_accuracy;
    t.test_accuracy = r.test_accuracy;
    t.test_loss = r.test_loss;
    t.params = r.params;
    t.seconds = r.seconds;
  } catch (const Interrupted&) {
    throw;
  } catch (const Error& e) {
    // A training that fails (a NaN loss) is recorded, not retried on every resume: it
    // ranks last and is never promoted.
    t.failed = e.what();
    if (t.failed.empty()) t.failed = "failed";
  }
  return t;
}

}  // namespace concnas::search::detail
