#include <cstdlib>
#include <exception>

#include "commands.h"
#include "concnas/search/runner.h"
#include "mpi_search.h"
#include "mpi_executor.h"
#include "mpi_worker.h"
#include "mpi_world.h"

namespace concnas::cli {
namespace {

// Ranks other than 0: a stop (Ctrl-C, or mpirun ending the job) leaves at once; every
// finished epoch is in its checkpoint already.
void serve(const MpiWorld& world, const std::string& run_dir, const std::atomic<bool>& stop) {
  try {
    serve_trials(world, run_dir, stop);
  } catch (const search::Interrupted&) {
    std::_Exit(kExitInterrupted);
  } catch (...) {
    world.abort(report_failure(std::current_exception()));
  }
  if (stop.load()) std::_Exit(kExitInterrupted);
}

}  // namespace

void search_on_mpi(const std::string& run_dir, const std::atomic<bool>& stop,
                   const std::function<void(const ExecutorFactory&)>& search_here) {
  MpiWorld world;
  if (world.rank() != 0) {
    serve(world, run_dir, stop);
    return;
  }
  try {
    if (world.size() == 1) {
      search_here(nullptr);
    } else {
      search_here([&world](const search::SearchConfig& config, const std::string& dir) {
        return std::make_unique<MpiTrialExecutor>(world, config, dir);
      });
    }
  } catch (...) {
    // The other ranks wait for rank 0: without it they would wait for ever.
    world.abort(report_failure(std::current_exception()));
  }
  for (int rank = 1; rank < world.size(); ++rank) world.send(rank, MpiTag::kStop, "");
}

}  // namespace concnas::cli
