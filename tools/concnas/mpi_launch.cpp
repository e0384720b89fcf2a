#include <cstdlib>
#include <string>

#include "mpi_search.h"

namespace concnas::cli {

std::optional<int> mpi_launch_size() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE"})
    if (const char* value = std::getenv(name)) return std::atoi(value);
  if (std::getenv("PMIX_RANK") == nullptr) return std::nullopt;
  const char* tasks = std::getenv("SLURM_NTASKS");
  return tasks ? std::atoi(tasks) : 0;
}

}  // namespace concnas::cli
