#pragma once
/// \file
/// What a search leaves behind: trial records (`trials.jsonl`), the final Pareto front of
/// (test accuracy, predicted latency, params), `pareto.csv` and the self-contained
/// `report.html`. No LibTorch here: the trials come from `search/runner.h`.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "concnas/search/candidates.h"

namespace concnas::search {

/// One training of one candidate at one rung of successive halving.
struct TrialRecord {
  int candidate = 0;
  int rung = 0;                  ///< 0-based
  std::int64_t train_subset = 0; ///< 0 = all
  int epochs = 0;
  double val_accuracy = 0;       ///< what promotion ranks by
  double test_accuracy = 0;
  double test_loss = 0;
  std::int64_t params = 0;
  double seconds = 0;            ///< training wall time
  std::string failed;            ///< why the training failed (e.g. a NaN loss); empty if it ran
};

std::string to_json_line(const TrialRecord& trial);
TrialRecord trial_from_json_line(const std::string& line, const std::string& where);

/// Reads a JSONL log written record by record. A last line without its newline is the
/// trace of a crash mid-write: it is cut off the file (`repair`) and ignored. Any other
/// unreadable line is an error naming the file and line.
std::vector<std::string> read_jsonl(const std::string& path, bool repair);

/// Appends one line and flushes it to the disk before returning.
void append_jsonl(const std::string& path, const std::string& line);

/// One row of the final table: a candidate's last (highest-rung) trial.
struct FinalEntry {
  const CandidateRecord* candidate = nullptr;
  const TrialRecord* trial = nullptr;
  bool on_front = false;
};

/// The final entries (candidates trained at the last rung, ascending id) with the Pareto
/// front of (max test accuracy, min predicted latency, min params) marked.
std::vector<FinalEntry> final_entries(const std::vector<CandidateRecord>& candidates,
                                      const std::vector<TrialRecord>& trials, int last_rung);

/// pareto.csv: one row per final entry.
std::string pareto_csv(const std::vector<FinalEntry>& entries);

/// The search's pick (the front's most accurate) deployed on `search.units` local workers
/// and measured beside what the simulator predicted for it.
struct DeployedPick {
  std::string name;
  int units = 0;
  double predicted_ms = 0;
  double measured_ms = 0;   ///< p50 at batch 1
  std::string folder;       ///< the deployment (plan.yaml, unit files, run.json)
  std::string error;        ///< why it could not be deployed or measured; empty if it was
};

struct ReportInput {
  const SearchConfig* config = nullptr;
  const std::vector<CandidateRecord>* candidates = nullptr;
  const std::vector<TrialRecord>* trials = nullptr;
  std::vector<FinalEntry> final;
  /// Inline SVG picture (Graphviz output) per candidate id, for the top architectures.
  std::map<int, std::string> pictures;
  /// Wall seconds per stage of this run.
  std::vector<std::pair<std::string, double>> stage_seconds;
  /// The pick as deployed and measured, when the search deployed it.
  std::optional<DeployedPick> deployed;
};

/// A self-contained HTML page (no scripts, no external files): summary table, SVG scatter
/// plots of test accuracy against predicted latency and against CS with the front and the
/// baselines marked, pictures of the front's architectures, every trial.
std::string report_html(const ReportInput& input);

}  // namespace concnas::search
