#include "mpi_executor.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "concnas/arch/cost.h"
#include "concnas/common/error.h"
#include "concnas/search/candidates.h"
#include "concnas/train/trainer.h"
#include "mpi_messages.h"

namespace concnas::cli {

MpiTrialExecutor::MpiTrialExecutor(const MpiWorld& world, search::SearchConfig config, std::string run_dir)
    : world_(world), config_(std::move(config)), dir_(std::move(run_dir)) {
  const std::string yaml = search::to_yaml(config_);
  for (int rank = 1; rank < world_.size(); ++rank) world_.send(rank, MpiTag::kConfig, yaml);
}

std::deque<search::TrialTask> MpiTrialExecutor::costliest_first(const std::vector<search::TrialTask>& tasks) const {
  // So that no long training starts last. Training time here follows the bytes the layers
  // write (memory traffic) within 20% over the quickstart's candidates, where FLOPs miss by
  // 3x. Which rank trains what changes no result.
  const auto [input, classes] = train::dataset_shape(config_.base);
  std::vector<std::pair<std::int64_t, search::TrialTask>> by_cost;
  for (const auto& task : tasks) {
    const auto arch = search::build_candidate(task.candidate->candidate, config_, input, classes);
    by_cost.emplace_back(arch::compute_cost(arch).total.output_bytes, task);
  }
  std::stable_sort(by_cost.begin(), by_cost.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  std::deque<search::TrialTask> queue;
  for (const auto& entry : by_cost) queue.push_back(entry.second);
  return queue;
}

void MpiTrialExecutor::hand_out(Shared& shared, std::map<int, search::TrialTask>& busy) const {
  std::vector<std::pair<int, search::TrialTask>> handed;
  {
    const std::lock_guard<std::mutex> lock(shared.mutex);
    for (int rank = 1; rank < world_.size() && !shared.queue.empty(); ++rank) {
      if (busy.count(rank)) continue;
      handed.emplace_back(rank, shared.queue.front());
      shared.queue.pop_front();
    }
  }
  // Sent outside the lock: the main thread takes it at every training step.
  for (const auto& [rank, task] : handed) {
    world_.send(rank, MpiTag::kTask, task_message(config_, task));
    busy[rank] = task;
  }
}

void MpiTrialExecutor::serve(Shared& shared) const {
  std::map<int, search::TrialTask> busy;  // rank -> the task it trains
  try {
    while (!shared.quit.load()) {
      // Results first: a failure elsewhere loses none that already arrived.
      while (const auto rank = world_.waiting(-1, MpiTag::kResult)) {
        auto trial = receive_result(world_, *rank, busy.at(*rank), dir_);
        busy.erase(*rank);
        const std::lock_guard<std::mutex> lock(shared.mutex);
        shared.arrived.push_back(std::move(trial));
      }
      if (const auto rank = world_.waiting(-1, MpiTag::kFailure)) throw Error(world_.receive(*rank, MpiTag::kFailure));
      hand_out(shared, busy);
      if (busy.empty()) {
        const std::lock_guard<std::mutex> lock(shared.mutex);
        if (shared.queue.empty()) break;
      }
      std::this_thread::sleep_for(kIdlePoll);
    }
  } catch (...) {
    const std::lock_guard<std::mutex> lock(shared.mutex);
    shared.failure = std::current_exception();
  }
  shared.serving.store(false);
}

void MpiTrialExecutor::log_arrived(Shared& shared, const search::TrialDone& done, bool rethrow) {
  std::vector<search::TrialRecord> arrived;
  std::exception_ptr failure;
  {
    const std::lock_guard<std::mutex> lock(shared.mutex);
    arrived.swap(shared.arrived);
    failure = shared.failure;
  }
  for (const auto& t : arrived) done(t);
  if (failure && rethrow) std::rethrow_exception(failure);
}

void MpiTrialExecutor::train_here(Shared& shared, const search::TrialHooks& hooks,
                                  const search::TrialDone& done) const {
  search::TrialHooks mine = hooks;
  mine.check_stop = [&] {
    log_arrived(shared, done, /*rethrow=*/true);
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
    if (task)
      done(search::train_trial(config_, dir_, *task->candidate, task->rung, mine));
    else if (shared.serving.load())
      std::this_thread::sleep_for(kIdlePoll);
    else
      return;
  }
}

void MpiTrialExecutor::run(const std::vector<search::TrialTask>& tasks, const search::TrialHooks& hooks,
                           const search::TrialDone& done) {
  Shared shared;
  shared.queue = costliest_first(tasks);
  std::thread server([&] { serve(shared); });
  const auto stop_server = [&] {
    shared.quit.store(true);
    server.join();
  };
  try {
    train_here(shared, hooks, done);
  } catch (...) {
    // A stop or a failure: what the other ranks finished is logged all the same.
    stop_server();
    log_arrived(shared, done, /*rethrow=*/false);
    throw;
  }
  stop_server();
  log_arrived(shared, done, /*rethrow=*/true);
}

}  // namespace concnas::cli
