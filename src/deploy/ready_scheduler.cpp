#include "ready_scheduler.h"

#include <algorithm>

namespace concnas::deploy::detail {

ReadyScheduler::ReadyScheduler(std::vector<std::vector<int>> successors, std::vector<double> priority, int threads)
    : successors_(std::move(successors)), priority_(std::move(priority)) {
  const int n = static_cast<int>(successors_.size());
  indegree_.assign(n, 0);
  for (const auto& next : successors_)
    for (int s : next) ++indegree_[s];
  // The one-thread order: the same rule, run once ahead of time.
  std::vector<int> remaining = indegree_, ready;
  for (int t = 0; t < n; ++t)
    if (remaining[t] == 0) push_ready(ready, t);
  for (int t = pop_best(ready); t >= 0; t = pop_best(ready)) {
    serial_order_.push_back(t);
    release(t, remaining, ready);
  }
  // At most every task is ready at once: with the room reserved, finishing a task never
  // allocates, so the bookkeeping after a task cannot throw.
  ready_.reserve(static_cast<std::size_t>(n));
  remaining_.reserve(static_cast<std::size_t>(n));
  try {
    for (int i = 1; i < threads; ++i) pool_.emplace_back([this, i] { serve(i); });
  } catch (...) {
    stop_threads();  // the threads already started, before the exception leaves
    throw;
  }
}

ReadyScheduler::~ReadyScheduler() { stop_threads(); }

void ReadyScheduler::stop_threads() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  for (auto& t : pool_) t.join();
  pool_.clear();
}

// True when task a runs before task b.
bool ReadyScheduler::before(int a, int b) const {
  return priority_[a] != priority_[b] ? priority_[a] > priority_[b] : a < b;
}

// `ready` is a heap with the task that runs first on top.
void ReadyScheduler::push_ready(std::vector<int>& ready, int task) const {
  ready.push_back(task);
  std::push_heap(ready.begin(), ready.end(), [this](int a, int b) { return before(b, a); });
}

int ReadyScheduler::pop_best(std::vector<int>& ready) const {
  if (ready.empty()) return -1;
  std::pop_heap(ready.begin(), ready.end(), [this](int a, int b) { return before(b, a); });
  const int task = ready.back();
  ready.pop_back();
  return task;
}

// `task` has run: its successors that waited only for it become ready.
void ReadyScheduler::release(int task, std::vector<int>& remaining, std::vector<int>& ready) const {
  for (int s : successors_[task])
    if (--remaining[s] == 0) push_ready(ready, s);
}

void ReadyScheduler::run(const std::function<void(int, int)>& work) {
  if (pool_.empty()) {
    for (int t : serial_order_) work(t, 0);
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    work_ = &work;
    remaining_ = indegree_;
    ready_.clear();
    for (int t = 0; t < static_cast<int>(indegree_.size()); ++t)
      if (indegree_[t] == 0) push_ready(ready_, t);
    ready_count_ = static_cast<int>(ready_.size());
    done_ = 0;
    failed_ = false;
    error_ = nullptr;
    ++generation_;
  }
  wake_.notify_all();
  work_loop(0);
  // The others are finishing their last task: a sleep here would cost a wake-up per run.
  while (active_ != 0) std::this_thread::yield();
  std::lock_guard<std::mutex> lock(mutex_);
  work_ = nullptr;
  if (error_) std::rethrow_exception(error_);
}

void ReadyScheduler::serve(int thread) {
  long seen = 0;
  for (;;) {
    const auto until = std::chrono::steady_clock::now() + kSpinBeforeSleep;
    while (!stop_ && generation_ == seen && std::chrono::steady_clock::now() < until) std::this_thread::yield();
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [&] { return stop_ || generation_ != seen; });
      if (stop_) return;
      seen = generation_;
      ++active_;
    }
    work_loop(thread);
    --active_;
  }
}

// A thread that finishes a task takes the best ready task in the same critical section:
// down a chain that is the successor, whose inputs are in this core's cache. An idle
// thread watches the atomic counts and takes the lock only when there is work.
void ReadyScheduler::work_loop(int thread) {
  const int n = static_cast<int>(successors_.size());
  int task = -1;
  for (;;) {
    if (task < 0) {
      if (failed_ || done_ == n) return;
      if (ready_count_ == 0) {
        std::this_thread::yield();
        continue;
      }
      std::lock_guard<std::mutex> lock(mutex_);
      task = pop_ready();
      continue;
    }
    try {
      (*work_)(task, thread);
    } catch (...) {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!error_) error_ = std::current_exception();
      failed_ = true;
      return;
    }
    std::lock_guard<std::mutex> lock(mutex_);
    release(task, remaining_, ready_);
    ++done_;
    task = failed_ ? -1 : pop_ready();
  }
}

// The best ready task, or -1; called under the lock.
int ReadyScheduler::pop_ready() {
  const int task = pop_best(ready_);
  ready_count_ = static_cast<int>(ready_.size());
  return task;
}

}  // namespace concnas::deploy::detail
