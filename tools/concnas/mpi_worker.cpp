#include "mpi_worker.h"

#include <filesystem>
#include <thread>

#include <fmt/format.h>

#include "concnas/common/atomic_file.h"
#include "concnas/common/error.h"
#include "concnas/search/runner.h"
#include "mpi_messages.h"

namespace concnas::cli {
namespace fs = std::filesystem;
namespace {

// Waits, without spinning, for rank 0's message with `tag` or kStop; false on kStop.
bool wait_for(const MpiWorld& world, MpiTag tag, const std::atomic<bool>& stop) {
  while (!stop.load()) {
    if (world.waiting(0, MpiTag::kStop)) {
      world.receive(0, MpiTag::kStop);
      return false;
    }
    if (world.waiting(0, tag)) return true;
    std::this_thread::sleep_for(kIdlePoll);
  }
  return false;
}

// This host's run folder is not checked as rank 0's is: a trial folder that another
// search left there is removed, so that its checkpoint is never resumed.
void claim_trial_folder(const std::string& dir, const std::string& identity) {
  const std::string marker = dir + "/trial.id";
  if (fs::exists(dir) && !(fs::exists(marker) && read_file(marker) == identity)) fs::remove_all(dir);
  fs::create_directories(dir);
  write_file_atomic(marker, identity);
}

// Trains one task and sends the record and folder back; a rank that cannot train (no
// data on this host, a full disk) tells rank 0 why.
void train_task(const MpiWorld& world, const search::SearchConfig& config, const std::string& run_dir,
                const TaskMessage& task, const std::atomic<bool>& stop) {
  search::TrialHooks hooks;
  hooks.check_stop = [&] {
    if (stop.load() || world.waiting(0, MpiTag::kStop))
      throw search::Interrupted(fmt::format("rank {} stopped", world.rank()));
  };
  const std::string dir = search::trial_folder(run_dir, task.candidate.candidate.id, task.rung);
  try {
    claim_trial_folder(dir, task.identity);
    const auto trial = search::train_trial(config, run_dir, task.candidate, task.rung, hooks);
    send_result(world, trial, dir);
  } catch (const search::Interrupted&) {
    throw;
  } catch (const std::exception& e) {
    world.send(0, MpiTag::kFailure, fmt::format("rank {} on {} cannot train {}: {}", world.rank(), world.host(),
                                                task.candidate.name, first_line(e.what())));
  }
}

}  // namespace

void serve_trials(const MpiWorld& world, const std::string& run_dir, const std::atomic<bool>& stop) {
  if (!wait_for(world, MpiTag::kConfig, stop)) return;
  const auto config = search::parse_search_config(world.receive(0, MpiTag::kConfig), "rank 0's search config");
  while (wait_for(world, MpiTag::kTask, stop))
    train_task(world, config, run_dir, parse_task_message(world.receive(0, MpiTag::kTask)), stop);
}

}  // namespace concnas::cli
