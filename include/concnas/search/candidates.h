#pragma once
/// \file
/// The first two stages of a search: sample candidates from the space, then build, cost
/// and score each one (in parallel over the cores), and pick who trains by Pareto fronts.
///
///     auto candidates = concnas::search::sample_candidates(cfg);
///     auto records = concnas::search::evaluate_candidates(cfg, candidates, input, classes);
///     auto chosen = concnas::search::select_for_training(cfg, records);
///
/// Candidate `id` draws from streams derived from (search.seed, id) only, so any subset
/// can be (re)evaluated alone and gives the same record: what `--resume` relies on.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "concnas/arch/architecture.h"
#include "concnas/partition/score.h"
#include "concnas/search/search_config.h"

namespace concnas::search {

struct Candidate {
  int id = 0;
  std::string kind;          ///< "sampled", or the baseline's name: "chain", "randwire"
  config::ArchSection arch;  ///< generator, nodes, params, staging, channels, seed
};

/// Baselines first (ids 0..b-1, in config order), then `search.candidates` samples.
std::vector<Candidate> sample_candidates(const SearchConfig& config);

/// How candidate `candidate_id` is scored: the search's units, balance bounds,
/// partitioner and devices, with a seed of its own.
partition::ScoreOptions score_options(const SearchConfig& config, int candidate_id);

/// The network of a candidate, for images of `input` and `classes` classes.
arch::Architecture build_candidate(const Candidate& candidate, const SearchConfig& config,
                                   const arch::Shape& input, int classes);

/// One scored partition option (balance bound) of a candidate.
struct OptionRecord {
  double epsilon = 0;
  double cs = 0;
  std::int64_t comm_bytes = 0;
  double imbalance = 1;
  double latency_ms = 0;
  double speedup = 1;
};

/// Everything `candidates.jsonl` holds about one candidate.
struct CandidateRecord {
  Candidate candidate;
  std::string name;
  std::int64_t params = 0;
  std::int64_t flops = 0;
  int longest_path = 0;
  double eta = 0;
  std::vector<OptionRecord> options;
  int best = 0;             ///< the option with the minimum CS
  std::string rejected;     ///< the constraint it breaks; empty when feasible
  const OptionRecord& best_option() const { return options.at(best); }
  bool feasible() const { return rejected.empty(); }
};

/// Builds, costs and scores one candidate and checks the constraints.
CandidateRecord evaluate_candidate(const SearchConfig& config, const Candidate& candidate,
                                   const arch::Shape& input, int classes);

/// Evaluates `candidates` on `search.threads` threads. `done` is called on the calling
/// thread, in candidate order, for every record (to append it to the log at once).
std::vector<CandidateRecord> evaluate_candidates(
    const SearchConfig& config, const std::vector<Candidate>& candidates, const arch::Shape& input,
    int classes, const std::function<void(const CandidateRecord&)>& done = {});

/// One JSON object per line; `from_json_line` throws `ParseError` (naming `where`) on a
/// line it cannot read.
std::string to_json_line(const CandidateRecord& record);
CandidateRecord candidate_from_json_line(const std::string& line, const std::string& where);

/// Indices of the points no other point dominates (every coordinate <= and one <),
/// minimising every coordinate; ascending.
std::vector<std::size_t> pareto_front(const std::vector<std::vector<double>>& points);

/// Ids of up to `search.select` feasible sampled candidates, taken front by front on
/// (objective, params) (ties within the last front by objective, then id), plus every
/// feasible baseline. Ascending ids.
std::vector<int> select_for_training(const SearchConfig& config,
                                     const std::vector<CandidateRecord>& records);

/// The objective value a record is ranked by: predicted latency (ms) or CS.
double objective_value(const SearchConfig& config, const CandidateRecord& record);

}  // namespace concnas::search
