#include "mpi_trials.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <optional>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "concnas/common/atomic_file.h"
#include "concnas/common/error.h"
#include "concnas/arch/cost.h"
#include "concnas/search/runner.h"
#include "concnas/train/trainer.h"

namespace concnas::cli {
namespace fs = std::filesystem;
namespace {

// How long an idle rank (or rank 0's server thread) sleeps between looks for a message:
// Open MPI's blocking calls spin, which would take a core from the ranks that train.
constexpr auto kIdlePoll = std::chrono::milliseconds(2);

// The files a finished training left in its folder, by name.
std::vector<std::string> folder_files(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir))
    if (entry.is_regular_file() && entry.path().extension() != ".tmp") names.push_back(entry.path().filename());
  std::sort(names.begin(), names.end());
  return names;
}

void send_result(const MpiWorld& world, const search::TrialRecord& trial, const std::string& dir) {
  const auto names = folder_files(dir);
  world.send(0, MpiTag::kResult, nlohmann::json{{"trial", search::to_json_line(trial)}, {"files", names}}.dump());
  for (const auto& name : names) world.send(0, MpiTag::kFile, read_file(dir + "/" + name));
}

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

// Trains one task rank 0 sent and sends the record and folder back; a rank that cannot
// train (no data on this host, a full disk) tells rank 0 why.
void train_task(const MpiWorld& world, const search::SearchConfig& config, const std::string& run_dir,
                const std::string& message, const std::atomic<bool>& stop) {
  const auto task = nlohmann::json::parse(message);
  const auto record = search::candidate_from_json_line(task.at("candidate").get<std::string>(), "rank 0's task");
  const int rung = task.at("rung").get<int>();
  search::TrialHooks hooks;
  hooks.check_stop = [&] {
    if (stop.load() || world.waiting(0, MpiTag::kStop))
      throw search::Interrupted(fmt::format("rank {} stopped", world.rank()));
  };
  try {
    const auto trial = search::train_trial(config, run_dir, record, rung, hooks);
    send_result(world, trial, search::trial_folder(run_dir, record.candidate.id, rung));
  } catch (const search::Interrupted&) {
    throw;
  } catch (const std::exception& e) {
    world.send(0, MpiTag::kFailure, fmt::format("rank {} on {} cannot train {}: {}", world.rank(), world.host(),
                                                record.name, first_line(e.what())));
  }
}

}  // namespace

MpiTrialExecutor::MpiTrialExecutor(const MpiWorld& world, search::SearchConfig config, std::string run_dir)
    : world_(world), config_(std::move(config)), dir_(std::move(run_dir)) {
  const std::string yaml = search::to_yaml(config_);
  for (int rank = 1; rank < world_.size(); ++rank) world_.send(rank, MpiTag::kConfig, yaml);
}

std::int64_t MpiTrialExecutor::cost(const search::TrialTask& task) const {
  // Training time here follows the activations written (memory traffic) far better than
  // FLOPs: within 20% over the quickstart's candidates, where FLOPs miss by 3x.
  const auto [input, classes] = train::dataset_shape(config_.base);
  const auto arch = search::build_candidate(task.candidate->candidate, config_, input, classes);
  return arch::compute_cost(arch).total.output_bytes;
}

search::TrialRecord MpiTrialExecutor::receive_result(int rank, const search::TrialTask& task) const {
  const auto header = nlohmann::json::parse(world_.receive(rank, MpiTag::kResult));
  const auto trial = search::trial_from_json_line(header.at("trial").get<std::string>(), fmt::format("rank {}", rank));
  CONCNAS_CHECK(trial.candidate == task.candidate->candidate.id && trial.rung == task.rung,
                "rank {} sent candidate {} rung {}, not the task it was given", rank, trial.candidate, trial.rung + 1);
  const std::string dir = search::trial_folder(dir_, trial.candidate, trial.rung);
  fs::create_directories(dir);
  for (const auto& name : header.at("files")) {
    const auto file = name.get<std::string>();
    CONCNAS_CHECK(fs::path(file).filename() == file, "rank {} sent a file outside its trial folder: {}", rank, file);
    write_file_atomic(dir + "/" + file, world_.receive(rank, MpiTag::kFile));
  }
  return trial;
}

void MpiTrialExecutor::serve(Shared& shared) const {
  std::map<int, search::TrialTask> busy;  // rank -> the task it trains
  try {
    while (!shared.quit.load()) {
      if (const auto rank = world_.waiting(-1, MpiTag::kFailure)) throw Error(world_.receive(*rank, MpiTag::kFailure));
      while (const auto rank = world_.waiting(-1, MpiTag::kResult)) {
        auto trial = receive_result(*rank, busy.at(*rank));
        busy.erase(*rank);
        const std::lock_guard<std::mutex> lock(shared.mutex);
        shared.arrived.push_back(std::move(trial));
      }
      const std::lock_guard<std::mutex> lock(shared.mutex);
      for (int rank = 1; rank < world_.size() && !shared.queue.empty(); ++rank) {
        if (busy.count(rank)) continue;
        const auto task = shared.queue.front();
        shared.queue.pop_front();
        world_.send(rank, MpiTag::kTask,
                    nlohmann::json{{"candidate", search::to_json_line(*task.candidate)}, {"rung", task.rung}}.dump());
        busy[rank] = task;
      }
      if (busy.empty() && shared.queue.empty()) break;
      std::this_thread::sleep_for(kIdlePoll);
    }
  } catch (...) {
    const std::lock_guard<std::mutex> lock(shared.mutex);
    shared.failure = std::current_exception();
  }
  shared.serving.store(false);
}

void MpiTrialExecutor::run(const std::vector<search::TrialTask>& tasks, const search::TrialHooks& hooks,
                           const search::TrialDone& done) {
  // The costliest first, so that no long training starts last; which rank trains what
  // does not change any result.
  std::vector<std::pair<std::int64_t, search::TrialTask>> by_cost;
  for (const auto& task : tasks) by_cost.emplace_back(cost(task), task);
  std::stable_sort(by_cost.begin(), by_cost.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  Shared shared;
  for (const auto& [c, task] : by_cost) shared.queue.push_back(task);
  std::thread server([&] { serve(shared); });
  // Stops and joins the server however the main thread leaves (a stop, a failure).
  struct JoinOnExit {
    Shared& shared;
    std::thread& server;
    ~JoinOnExit() {
      shared.quit.store(true);
      server.join();
    }
  } join_on_exit{shared, server};
  // Logs what other ranks finished, and rethrows the server's failure, on the main thread.
  const auto log_arrived = [&] {
    std::vector<search::TrialRecord> arrived;
    {
      const std::lock_guard<std::mutex> lock(shared.mutex);
      if (shared.failure) std::rethrow_exception(shared.failure);
      arrived.swap(shared.arrived);
    }
    for (const auto& t : arrived) done(t);
  };
  search::TrialHooks mine = hooks;
  mine.check_stop = [&] {
    log_arrived();
    if (hooks.check_stop) hooks.check_stop();
  };
  for (;;) {
    mine.check_stop();
    std::optional<search::TrialTask> task;
    {
      const std::lock_guard<std::mutex> lock(shared.mutex);
      if (!shared.queue.empty()) {
        task = shared.queue.front();
        shared.queue.pop_front();
      }
    }
    if (task) {
      done(search::train_trial(config_, dir_, *task->candidate, task->rung, mine));
    } else if (shared.serving.load()) {
      std::this_thread::sleep_for(kIdlePoll);
    } else {
      break;
    }
  }
  log_arrived();
}

void serve_trials(const MpiWorld& world, const std::string& run_dir, const std::atomic<bool>& stop) {
  if (!wait_for(world, MpiTag::kConfig, stop)) return;
  const auto config = search::parse_search_config(world.receive(0, MpiTag::kConfig), "rank 0's search config");
  while (wait_for(world, MpiTag::kTask, stop)) train_task(world, config, run_dir, world.receive(0, MpiTag::kTask), stop);
}

}  // namespace concnas::cli
