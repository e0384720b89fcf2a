#pragma once
// What the ranks of `mpirun concnas search` say to each other (mpi_messages.cpp). All
// messages go from or to rank 0:
//   kConfig   the resolved search config, as YAML (once, before any task)
//   kTask     {"candidate": candidates.jsonl line, "rung": r, "identity": hex}
//   kResult   {"trial": trials.jsonl line, "files": [names]}, then one kFile per file of
//             the trial folder, in that order
//   kFailure  why a rank cannot train (rank 0 then ends the job)
//   kStop     the search is over

#include <chrono>
#include <string>

#include "concnas/search/trial_executor.h"
#include "mpi_world.h"

namespace concnas::cli {

/// How long an idle rank (or rank 0's server thread) sleeps between looks for a message:
/// Open MPI's blocking calls spin, which would take a core from the ranks that train.
inline constexpr auto kIdlePoll = std::chrono::milliseconds(2);

/// A training as rank 0 hands it out.
struct TaskMessage {
  search::CandidateRecord candidate;
  int rung = 0;
  /// Names this search's training of this candidate at this rung (a hash of the config,
  /// the candidate and the rung): a trial folder left by another search is not resumed.
  std::string identity;
};

std::string task_message(const search::SearchConfig& config, const search::TrialTask& task);
TaskMessage parse_task_message(const std::string& message);

/// Sends the record and every file of `dir`, all read before the first message goes out.
void send_result(const MpiWorld& world, const search::TrialRecord& trial, const std::string& dir);
/// Receives what `rank` sent for `task` and writes its files into the trial's folder of
/// `run_dir`; returns the record.
search::TrialRecord receive_result(const MpiWorld& world, int rank, const search::TrialTask& task,
                                   const std::string& run_dir);

}  // namespace concnas::cli
