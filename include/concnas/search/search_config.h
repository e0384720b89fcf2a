#pragma once
/// \file
/// The search config (`concnas search --config`): what to sample, how to score, which
/// constraints to enforce and how to spend the training budget. Parsed in one place;
/// unknown keys and bad values are errors naming the file, line and key, before any work.
///
///     auto cfg = concnas::search::load_search_config("configs/quickstart.yaml",
///                                                    {"search.candidates=32"});
///
/// docs/search.md lists every key. The `data` and `train` sections are the training
/// config's (docs/training.md); their `train.epochs` and `data.train_subset` are set per
/// rung of successive halving.

#include <cmath>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "concnas/config/train_config.h"
#include "concnas/sim/latency.h"

namespace concnas::search {

/// The most vertices a searched or baseline network may have. Every candidate is
/// generated, partitioned and possibly trained, and ER generation alone takes time
/// quadratic in the vertices: beyond a few thousand a search would not finish (the
/// `generate` command itself goes up to `graph::kMaxVertices`).
inline constexpr int kMaxSearchVertices = 2000;

/// A generator parameter: fixed (lo == hi), drawn uniformly from [lo, hi] (integers when
/// both ends are whole numbers), or drawn from `choices` when those are given.
struct ParamRange {
  double lo = 0;
  double hi = 0;
  std::vector<double> choices;
  /// Both ends whole numbers (within ±1e9): the range draws integers.
  bool whole() const {
    return std::floor(lo) == lo && std::floor(hi) == hi && std::abs(lo) <= 1e9 && std::abs(hi) <= 1e9;
  }
};

struct GeneratorSpace {
  std::string name;                          ///< er | ba | ws | dp
  std::map<std::string, ParamRange> params;  ///< missing ones take the generator's defaults
};

/// Every sampled candidate draws one generator, then one value per list below, uniformly.
struct SearchSpace {
  std::vector<GeneratorSpace> generators;
  std::vector<int> nodes{40};
  std::vector<std::string> staging{"probabilistic"};
  double stage_probability = 0.5;
  std::vector<int> stem_channels{16};
  std::vector<int> channel_limit{64};
  std::string orientation = "dfs";
  std::string aggregation = "randwire";
  /// Reference networks always scored and trained: chain, randwire (arch/baselines.h).
  std::vector<std::string> baselines{"chain", "randwire"};
  /// Vertices, stem and channel limit of the baselines.
  int baseline_nodes = 40;
  int baseline_stem_channels = 16;
  int baseline_channel_limit = 64;
};

/// Candidates breaking one are scored and recorded, never trained. 0 = no limit.
struct Constraints {
  std::int64_t max_params = 0;
  std::int64_t max_flops = 0;
  double max_latency_ms = 0;
};

/// One fidelity of successive halving.
struct Rung {
  std::int64_t train_subset = 0;  ///< training images (0 = all)
  int epochs = 1;
};

struct SearchSection {
  std::uint64_t seed = 0;
  int candidates = 64;          ///< sampled candidates (baselines come on top)
  int units = 4;                ///< n devices the score and latency are for
  std::vector<double> epsilons{1.03, 1.1, 1.3};
  std::string partitioner = "metis";
  std::string objective = "latency";  ///< latency | cs: the Pareto axis beside params
  /// Devices file (docs/scoring.md) the predicted latency is for; empty: `units` default
  /// devices and link.
  std::string devices;
  /// Measure this machine first (`concnas calibrate --local --world units`) and predict
  /// for it; the file is the run folder's devices.yaml (kept on --resume).
  bool calibrate = false;
  int threads = 0;              ///< scoring threads (0 = all cores)
  int select = 8;               ///< sampled candidates entering the first rung
  std::vector<Rung> rungs{{2000, 1}, {6000, 2}, {0, 4}};
  double keep = 0.5;            ///< fraction promoted from one rung to the next
};

struct SearchConfig {
  SearchSection search;
  SearchSpace space;
  Constraints constraints;
  config::TrainConfig base;  ///< data and train sections; arch comes from the candidates
  /// Read from `search.devices` (empty: the simulator's defaults).
  sim::DeviceModel device_model;
  sim::LinkModel link_model;
  /// Throws `InvalidArgument` naming the first bad key.
  void sanity_check() const;
};

SearchConfig parse_search_config(const std::string& text, const std::string& source,
                                 const std::vector<std::string>& overrides = {});
SearchConfig load_search_config(const std::string& path,
                                const std::vector<std::string>& overrides = {});

/// Every key with its value, as YAML (the run folder's config.yaml).
std::string to_yaml(const SearchConfig& config);

}  // namespace concnas::search
