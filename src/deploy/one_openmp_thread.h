#pragma once
// One OpenMP thread for Torch's own loops inside a deployment's inference (private to
// src/deploy).

#include <omp.h>

namespace concnas::deploy::detail {

/// Torch's copies (and oneDNN's GEMM) would otherwise start an OpenMP team per call above
/// their grain size, whose threads spin on the cores the engine's own threads use: on a
/// worker pinned to one core, a batch of 32 spent 3.4 ms of its 9.4 ms so in the head, and
/// a worker held to half a core took 7 ms to lay out a 4x4 partial sum for sending. The
/// engine's threads are the parallelism; the caller's setting comes back however the scope
/// ends.
class OneOpenMpThread {
 public:
  OneOpenMpThread() { omp_set_num_threads(1); }
  ~OneOpenMpThread() { omp_set_num_threads(before_); }
  OneOpenMpThread(const OneOpenMpThread&) = delete;
  OneOpenMpThread& operator=(const OneOpenMpThread&) = delete;

 private:
  int before_ = omp_get_max_threads();
};

}  // namespace concnas::deploy::detail
