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
  auto later = [this](int a, int b) { return before(b, a); };
  for (int t = 0; t < n; ++t)
    if (remaining[t] == 0) ready.push_back(t);
  std::make_heap(ready.begin(), ready.end(), later);
  while (!ready.empty()) {
    std::pop_heap(ready.begin(), ready.end(), later);
    const int t = ready.back();
    ready.pop_back();
    serial_order_.push_back(t);
    for (int s : successors_[t])
      if (--remaining[s] == 0) {
        ready.push_back(s);
        std::push_heap(ready.begin(), ready.end(), later);
      }
  }
  for (int i = 1; i < threads; ++i) pool_.emplace_back([this, i] { serve(i); });
}

ReadyScheduler::~ReadyScheduler() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  for (auto& t : pool_) t.join();
}

// True when task a runs before task b.
bool ReadyScheduler::before(int a, int b) const {
  return priority_[a] != priority_[b] ? priority_[a] > priority_[b] : a < b;
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
      if (indegree_[t] == 0) ready_.push_back(t);
    std::make_heap(ready_.begin(), ready_.end(), [this](int a, int b) { return before(b, a); });
    done_ = 0;
    failed_ = false;
    error_ = nullptr;
    ++generation_;
  }
  wake_.notify_all();
  work_loop(0);
  std::unique_lock<std::mutex> lock(mutex_);
  idle_.wait(lock, [this] { return active_ == 0; });
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
    {
      std::lock_guard<std::mutex> lock(mutex_);
      --active_;
    }
    idle_.notify_all();
  }
}

void ReadyScheduler::work_loop(int thread) {
  auto later = [this](int a, int b) { return before(b, a); };
  const int n = static_cast<int>(successors_.size());
  for (;;) {
    int task = -1;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (failed_ || done_ == n) return;
      if (!ready_.empty()) {
        std::pop_heap(ready_.begin(), ready_.end(), later);
        task = ready_.back();
        ready_.pop_back();
      }
    }
    if (task < 0) {
      std::this_thread::yield();
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
    ++done_;
    for (int s : successors_[task])
      if (--remaining_[s] == 0) {
        ready_.push_back(s);
        std::push_heap(ready_.begin(), ready_.end(), later);
      }
  }
}

}  // namespace concnas::deploy::detail
