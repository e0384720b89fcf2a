#pragma once
// Every rank but 0 of `mpirun concnas search` (mpi_worker.cpp): trains what rank 0 hands
// it in the run folder of its own host and sends each result back.

#include <atomic>
#include <string>

#include "mpi_world.h"

namespace concnas::cli {

/// Waits for rank 0's config, then trains tasks in `run_dir` until rank 0 says stop.
/// Returns early when `stop` is raised; throws `Interrupted` when stopped mid-training.
void serve_trials(const MpiWorld& world, const std::string& run_dir, const std::atomic<bool>& stop);

}  // namespace concnas::cli
