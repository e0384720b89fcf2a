#pragma once
// concnas run's arguments and the pieces its worker mode and its local launcher
// (local_launcher.cpp) share.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "concnas/common/cpu_quota.h"
#include "concnas/data/image_set.h"
#include "concnas/deploy/runtime.h"

namespace concnas::cli {

struct RunArgs {
  std::string plan;
  int rank = -1;
  int world = 0;
  std::string master;
  bool local = false;
  bool store_served = false;  // hidden: the launcher serves the rendezvous
  std::string bind;
  double timeout_s = 30;
  int cores = 1;
  bool fp16 = false;
  std::string input;
  std::string labels;
  deploy::BenchmarkOptions bench;
  std::string json;
  std::string trace;
  std::optional<std::string> cpus;  // pin this worker to these CPUs
  bool pin = false;                  // --local: each worker on cores of its own
  std::string devices;               // devices file: report its prediction beside the measurement
  std::vector<std::string> cpu_quota;  // FRACTION for this worker, or UNIT=FRACTION with --local
  std::vector<std::string> slowdown;   // FACTOR for this worker, or UNIT=FACTOR with --local
};

inline std::string part_of(const std::string& file, int rank) { return fmt::format("{}.rank{}", file, rank); }

/// The images worker 0 feeds: --input (and --labels) or Fashion-MNIST's test set;
/// `labelled` says whether the labels are real.
data::ImageSet input_images(const RunArgs& a, const deploy::Deployment& d, bool* labelled);

/// "0,2,3" for a list of CPUs.
std::string cpu_list(const std::vector<int>& cpus);

/// Pins this process, and every thread it starts from now on, to `cpus`.
void pin_to(const std::vector<int>& cpus);

/// The path of this program (to start workers, or `concnas run`, as processes).
std::string self_exe();

/// Worker `rank`'s --cpu-quota: the fraction of its cores' time it may use, 0 for no
/// limit. Throws `InvalidArgument` naming a bad entry (a unit outside 0..units-1, a
/// fraction outside (0, 1], a plain fraction with --local).
double cpu_quota_of(const RunArgs& a, int rank, int units);

/// Worker `rank`'s --slowdown: how many times slower than its core it computes (1: as
/// fast). Throws `InvalidArgument` naming a bad entry (as `cpu_quota_of`, a factor outside
/// [1, 100]).
double slowdown_of(const RunArgs& a, int rank, int units);

/// Holds this worker (a.rank) to its --cpu-quota, if it has one, until the result goes.
std::unique_ptr<CpuQuota> apply_cpu_quota(const RunArgs& a, int units);

/// One worker in this process: serves (rank > 0) or feeds, times and reports (rank 0).
void run_worker(const RunArgs& a, const deploy::Deployment& d);

/// Every worker as a local process, with the launcher serving the rendezvous.
void run_local(const RunArgs& a, const deploy::Deployment& d);

}  // namespace concnas::cli
