#include "concnas/search/trial_executor.h"

#include <exception>
#include <filesystem>

#include <fmt/format.h>

#include "concnas/data/dataset.h"
#include "concnas/search/candidates.h"
#include "concnas/search/runner.h"
#include "concnas/train/trainer.h"

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
