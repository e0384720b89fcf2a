#pragma once
// Runs a fixed DAG of tasks on a few threads, ready tasks first by priority (the engine's
// longest remaining path). The calling thread is thread 0 and works too. The others spin
// (yielding) while a run has no ready task, and for a while after a run before they
// sleep: a vertex takes tens of microseconds, and a sleeping thread on a virtual machine
// can take half a millisecond to wake, which back-to-back inferences would pay every time.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace concnas::deploy::detail {

class ReadyScheduler {
 public:
  /// How long an idle thread spins for the next run before it sleeps.
  static constexpr std::chrono::milliseconds kSpinBeforeSleep{20};

  /// `successors[t]`: the tasks that need task t first; a higher `priority` runs first
  /// among ready tasks (ties: the lower index).
  ReadyScheduler(std::vector<std::vector<int>> successors, std::vector<double> priority, int threads);
  ~ReadyScheduler();
  ReadyScheduler(const ReadyScheduler&) = delete;
  ReadyScheduler& operator=(const ReadyScheduler&) = delete;

  /// Runs every task once as `work(task, thread)`; returns when all have run, or rethrows
  /// the first exception a task threw once every thread has stopped.
  void run(const std::function<void(int, int)>& work);

  /// The order one thread runs the tasks in: by priority among the ready ones.
  const std::vector<int>& serial_order() const { return serial_order_; }

 private:
  bool before(int a, int b) const;
  void push_ready(std::vector<int>& ready, int task) const;
  int pop_best(std::vector<int>& ready) const;
  void release(int task, std::vector<int>& remaining, std::vector<int>& ready) const;
  void work_loop(int thread);
  int pop_ready();
  void stop_threads();
  void serve(int thread);

  std::vector<std::vector<int>> successors_;
  std::vector<double> priority_;
  std::vector<int> indegree_, serial_order_;
  std::vector<std::thread> pool_;

  std::mutex mutex_;
  std::condition_variable wake_;
  const std::function<void(int, int)>* work_ = nullptr;
  std::vector<int> remaining_, ready_;  // ready_ is a heap by `before`
  // Written under the lock; read without it by idle threads.
  std::atomic<int> ready_count_{0}, done_{0};
  std::atomic<bool> failed_{false};
  std::atomic<int> active_{0};  // threads inside work_loop
  std::atomic<long> generation_{0};
  std::atomic<bool> stop_{false};
  std::exception_ptr error_;
};

}  // namespace concnas::deploy::detail
