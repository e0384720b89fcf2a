#pragma once
// `concnas search` started by an MPI launcher (mpirun, srun): the launch is read from the
// environment (mpi_launch.cpp, always built); the job itself needs MPI (mpi_search.cpp).

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "concnas/search/trial_executor.h"

namespace concnas::cli {

/// Makes the executor a search on rank 0 trains with, for its config and run folder.
using ExecutorFactory =
    std::function<std::unique_ptr<search::TrialExecutor>(const search::SearchConfig&, const std::string& run_dir)>;

/// How many processes an MPI launcher started this one among, from the variables Open
/// MPI, PMI and Slurm set (0 when a PMIx launcher does not say); none when no launcher did.
std::optional<int> mpi_launch_size();

/// Rank 0 calls `search_here` with a factory of executors that train on every rank; the
/// other ranks train what rank 0 hands them, in `run_dir` on their own host. A failure on
/// rank 0 prints its error line and ends every rank with its exit code.
void search_on_mpi(const std::string& run_dir, const std::atomic<bool>& stop,
                   const std::function<void(const ExecutorFactory&)>& search_here);

}  // namespace concnas::cli
