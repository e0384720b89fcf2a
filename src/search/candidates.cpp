#include "concnas/search/candidates.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <cmath>
#include <numeric>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "concnas/arch/baselines.h"
#include "concnas/arch/cost.h"
#include "concnas/common/error.h"
#include "concnas/common/rng.h"
#include "concnas/graph/analysis.h"
#include "concnas/graph/generator.h"
#include "concnas/partition/score.h"

namespace concnas::search {
namespace {

// How often the thread that hands records over wakes while workers score.
constexpr std::chrono::milliseconds kHandOver{20};

template <typename T>
const T& pick(const std::vector<T>& choices, Rng& rng) {
  return choices[rng.below(choices.size())];
}

double draw(const ParamRange& r, Rng& rng) {
  if (!r.choices.empty()) return pick(r.choices, rng);
  if (r.lo == r.hi) return r.lo;
  if (r.whole())
    return r.lo + static_cast<double>(rng.below(static_cast<std::uint64_t>(r.hi - r.lo) + 1));
  return r.lo + rng.uniform() * (r.hi - r.lo);
}

// The registries one thread needs; built once per thread, not per candidate.
struct Evaluator {
  graph::GeneratorRegistry generators = graph::builtin_generators();
  arch::StagingRegistry policies = arch::builtin_staging_policies();
  partition::PartitionerRegistry partitioners = partition::builtin_partitioners();

  arch::Architecture build(const Candidate& c, const arch::Shape& input, int classes) const {
    auto o = config::generate_options(c.arch, input, classes);
    o.name = fmt::format("c{}-{}-n{}", c.id, c.arch.generator, c.arch.nodes);
    if (c.kind == "chain") {
      auto a = arch::chain_architecture(c.arch.nodes, o.staging, o.network, c.arch.seed);
      a.name = o.name;
      return a;
    }
    if (c.kind == "randwire") {
      auto a = arch::randwire_architecture(c.arch.nodes, o.network, c.arch.seed);
      a.name = o.name;
      return a;
    }
    return arch::generate_architecture(o, generators, policies);
  }

  CandidateRecord evaluate(const SearchConfig& cfg, const Candidate& c, const arch::Shape& input,
                           int classes) const {
    CandidateRecord r;
    r.candidate = c;
    const auto a = build(c, input, classes);
    r.name = a.name;
    const auto cost = arch::compute_cost(a);
    r.params = cost.total.params;
    r.flops = cost.total.flops;
    r.longest_path = graph::longest_path(a.dag);
    const auto score = partition::score_architecture(a, cost, score_options(cfg, c.id), partitioners);
    for (const auto& o : score.options) {
      r.options.push_back({o.epsilon, o.metrics.cs, o.metrics.comm_bytes, o.metrics.imbalance,
                           o.sim.latency_s * 1e3, o.sim.speedup});
      r.eta = o.metrics.eta;
    }
    r.best = static_cast<int>(score.best_index);
    const auto& k = cfg.constraints;
    if (k.max_params > 0 && r.params > k.max_params)
      r.rejected = fmt::format("params {} > max_params {}", r.params, k.max_params);
    else if (k.max_flops > 0 && r.flops > k.max_flops)
      r.rejected = fmt::format("flops {} > max_flops {}", r.flops, k.max_flops);
    else if (k.max_latency_ms > 0 && r.best_option().latency_ms > k.max_latency_ms)
      r.rejected = fmt::format("latency {:.4f} ms > max_latency_ms {}", r.best_option().latency_ms,
                               format_number(k.max_latency_ms));
    return r;
  }
};

}  // namespace

std::vector<Candidate> sample_candidates(const SearchConfig& cfg) {
  std::vector<Candidate> out;
  const auto& sp = cfg.space;
  for (const auto& b : sp.baselines) {
    Candidate c;
    c.id = static_cast<int>(out.size());
    c.kind = b;
    c.arch.generator = b;
    c.arch.nodes = sp.baseline_nodes;
    c.arch.staging = sp.staging.front();
    c.arch.stage_probability = sp.stage_probability;
    c.arch.stem_channels = sp.baseline_stem_channels;
    c.arch.channel_limit = sp.baseline_channel_limit;
    c.arch.orientation = sp.orientation;
    c.arch.aggregation = sp.aggregation;
    c.arch.seed = cfg.search.seed;
    out.push_back(c);
  }
  const int first = static_cast<int>(out.size());
  for (int i = 0; i < cfg.search.candidates; ++i) {
    Candidate c;
    c.id = first + i;
    c.kind = "sampled";
    Rng rng = Rng::derive(cfg.search.seed, static_cast<std::uint64_t>(c.id));
    const auto& g = pick(sp.generators, rng);
    c.arch.generator = g.name;
    for (const auto& [name, range] : g.params) c.arch.params.set(name, draw(range, rng));
    c.arch.nodes = pick(sp.nodes, rng);
    c.arch.staging = pick(sp.staging, rng);
    c.arch.stage_probability = sp.stage_probability;
    c.arch.stem_channels = pick(sp.stem_channels, rng);
    c.arch.channel_limit = pick(sp.channel_limit, rng);
    c.arch.orientation = sp.orientation;
    c.arch.aggregation = sp.aggregation;
    c.arch.seed = rng.next() >> 32;
    out.push_back(c);
  }
  return out;
}

partition::ScoreOptions score_options(const SearchConfig& config, int candidate_id) {
  partition::ScoreOptions so;
  so.units = config.search.units;
  so.epsilons = config.search.epsilons;
  so.partitioner = config.search.partitioner;
  so.seed = mix_seed(config.search.seed) ^ static_cast<std::uint64_t>(candidate_id);
  so.devices = config.device_model;
  so.link = config.link_model;
  return so;
}

arch::Architecture build_candidate(const Candidate& candidate, const SearchConfig&,
                                   const arch::Shape& input, int classes) {
  return Evaluator().build(candidate, input, classes);
}

CandidateRecord evaluate_candidate(const SearchConfig& config, const Candidate& candidate,
                                   const arch::Shape& input, int classes) {
  return Evaluator().evaluate(config, candidate, input, classes);
}

namespace {

// Scoring threads take one candidate at a time; the calling thread wakes every kHandOver
// (or at a failure or the end) and hands every record ready in candidate order to `done`:
// a wake-up per record would cost more than scoring at thousands of records a second.
class ScoringPool {
 public:
  ScoringPool(const SearchConfig& config, const std::vector<Candidate>& candidates, arch::Shape input, int classes)
      : config_(config), candidates_(candidates), input_(input), classes_(classes),
        records_(candidates.size()), ready_(candidates.size(), 0) {}

  // One scoring thread's loop; a failure stops every thread and is kept for the caller.
  void work() {
    try {
      Evaluator evaluator;
      while (!stop_.load()) {
        const std::size_t i = next_.fetch_add(1);
        if (i >= candidates_.size()) return;
        CandidateRecord r = evaluate_one(evaluator, candidates_[i]);
        std::lock_guard<std::mutex> lock(mutex_);
        records_[i] = std::move(r);
        ready_[i] = 1;
        if (++finished_ == candidates_.size()) ready_cv_.notify_one();
      }
    } catch (...) {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!failure_) failure_ = std::current_exception();
      stop_.store(true);
      ready_cv_.notify_one();
    }
  }

  // Hands records to `done` in candidate order as they become ready, until every one is
  // handed or a worker failed; returns how many were handed.
  std::size_t hand_over(const std::function<void(const CandidateRecord&)>& done) {
    const std::size_t n = candidates_.size();
    std::size_t handed = 0;
    while (handed < n) {
      {
        std::unique_lock<std::mutex> lock(mutex_);
        if (!ready_[handed] && !failure_)
          ready_cv_.wait_for(lock, kHandOver, [&] { return finished_ == n || failure_; });
        if (!ready_[handed]) {
          if (failure_) break;  // a worker failed before this record was ready
          continue;
        }
      }
      if (done) done(records_[handed]);
      ++handed;
    }
    return handed;
  }

  // After the workers are joined: hands every record finished before a failure, then
  // rethrows it (nothing when none failed).
  void finish_failure(const std::function<void(const CandidateRecord&)>& done, std::size_t handed) {
    if (!failure_) return;
    while (handed < candidates_.size() && ready_[handed]) {
      if (done) done(records_[handed]);
      ++handed;
    }
    std::rethrow_exception(failure_);
  }

  void stop() { stop_.store(true); }
  std::vector<CandidateRecord> take_records() { return std::move(records_); }

 private:
  CandidateRecord evaluate_one(Evaluator& evaluator, const Candidate& c) const {
    try {
      return evaluator.evaluate(config_, c, input_, classes_);
    } catch (const Error& e) {
      throw Error(fmt::format("candidate {} ({} {}): {}", c.id, c.kind, c.arch.generator, e.what()));
    }
  }

  const SearchConfig& config_;
  const std::vector<Candidate>& candidates_;
  arch::Shape input_;
  int classes_;
  std::vector<CandidateRecord> records_;
  std::vector<char> ready_;
  std::mutex mutex_;
  std::condition_variable ready_cv_;
  std::exception_ptr failure_;
  std::atomic<std::size_t> next_{0};
  std::atomic<bool> stop_{false};
  std::size_t finished_ = 0;  // records ready, under `mutex_`
};

}  // namespace

std::vector<CandidateRecord> evaluate_candidates(
    const SearchConfig& config, const std::vector<Candidate>& candidates, const arch::Shape& input,
    int classes, const std::function<void(const CandidateRecord&)>& done) {
  const std::size_t n = candidates.size();
  if (n == 0) return {};
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const int threads = static_cast<int>(
      std::min<std::size_t>(config.search.threads > 0 ? std::min(config.search.threads, 4 * cores) : cores, n));
  ScoringPool pool(config, candidates, input, classes);
  std::vector<std::thread> workers;
  auto finish = [&] {
    pool.stop();
    for (auto& t : workers) t.join();
  };
  std::size_t handed = 0;
  try {
    for (int t = 0; t < threads; ++t) workers.emplace_back([&pool] { pool.work(); });
    handed = pool.hand_over(done);
  } catch (...) {
    finish();  // `done` failed (or was interrupted): stop the workers, keep its error
    throw;
  }
  finish();
  pool.finish_failure(done, handed);
  return pool.take_records();
}

std::string to_json_line(const CandidateRecord& r) {
  using nlohmann::ordered_json;
  ordered_json params = ordered_json::object();
  for (const auto& [k, v] : r.candidate.arch.params.values()) params[k] = v;
  ordered_json options = ordered_json::array();
  for (const auto& o : r.options)
    options.push_back({{"epsilon", o.epsilon}, {"cs", o.cs}, {"comm_bytes", o.comm_bytes},
                       {"imbalance", o.imbalance}, {"latency_ms", o.latency_ms}, {"speedup", o.speedup}});
  const auto& a = r.candidate.arch;
  ordered_json j{{"id", r.candidate.id},
                 {"kind", r.candidate.kind},
                 {"name", r.name},
                 {"generator", a.generator},
                 {"params", params},
                 {"nodes", a.nodes},
                 {"seed", a.seed},
                 {"staging", a.staging},
                 {"stage_probability", a.stage_probability},
                 {"stem_channels", a.stem_channels},
                 {"channel_limit", a.channel_limit},
                 {"orientation", a.orientation},
                 {"aggregation", a.aggregation},
                 {"cost", {{"params", r.params}, {"flops", r.flops}}},
                 {"longest_path", r.longest_path},
                 {"eta", r.eta},
                 {"options", options},
                 {"best", r.best},
                 {"feasible", r.feasible()},
                 {"rejected", r.rejected}};
  return j.dump();
}

CandidateRecord candidate_from_json_line(const std::string& line, const std::string& where) {
  CandidateRecord r;
  try {
    const auto j = nlohmann::json::parse(line);
    r.candidate.id = j.at("id").get<int>();
    r.candidate.kind = j.at("kind").get<std::string>();
    r.name = j.at("name").get<std::string>();
    auto& a = r.candidate.arch;
    a.generator = j.at("generator").get<std::string>();
    for (const auto& [k, v] : j.at("params").items()) a.params.set(k, v.get<double>());
    a.nodes = j.at("nodes").get<int>();
    a.seed = j.at("seed").get<std::uint64_t>();
    a.staging = j.at("staging").get<std::string>();
    a.stage_probability = j.at("stage_probability").get<double>();
    a.stem_channels = j.at("stem_channels").get<int>();
    a.channel_limit = j.at("channel_limit").get<int>();
    a.orientation = j.at("orientation").get<std::string>();
    a.aggregation = j.at("aggregation").get<std::string>();
    r.params = j.at("cost").at("params").get<std::int64_t>();
    r.flops = j.at("cost").at("flops").get<std::int64_t>();
    r.longest_path = j.at("longest_path").get<int>();
    r.eta = j.at("eta").get<double>();
    for (const auto& o : j.at("options"))
      r.options.push_back({o.at("epsilon").get<double>(), o.at("cs").get<double>(),
                           o.at("comm_bytes").get<std::int64_t>(), o.at("imbalance").get<double>(),
                           o.at("latency_ms").get<double>(), o.at("speedup").get<double>()});
    r.best = j.at("best").get<int>();
    r.rejected = j.at("rejected").get<std::string>();
  } catch (const nlohmann::json::exception& e) {
    throw ParseError(where, 0, fmt::format("not a candidate record: {}", e.what()));
  }
  if (r.options.empty() || r.best < 0 || r.best >= static_cast<int>(r.options.size()))
    throw ParseError(where, 0, "candidate record without a valid best option");
  return r;
}

std::vector<std::size_t> pareto_front(const std::vector<std::vector<double>>& points) {
  std::vector<std::size_t> front;
  for (std::size_t i = 0; i < points.size(); ++i) {
    bool dominated = false;
    for (std::size_t j = 0; j < points.size() && !dominated; ++j) {
      if (i == j) continue;
      bool all_le = true, one_lt = false;
      for (std::size_t k = 0; k < points[i].size(); ++k) {
        all_le = all_le && points[j][k] <= points[i][k];
        one_lt = one_lt || points[j][k] < points[i][k];
      }
      dominated = all_le && one_lt;
    }
    if (!dominated) front.push_back(i);
  }
  return front;
}

double objective_value(const SearchConfig& config, const CandidateRecord& r) {
  return config.search.objective == "cs" ? r.best_option().cs : r.best_option().latency_ms;
}

std::vector<int> select_for_training(const SearchConfig& config,
                                     const std::vector<CandidateRecord>& records) {
  std::vector<int> chosen;
  std::vector<const CandidateRecord*> pool;
  for (const auto& r : records) {
    if (!r.feasible()) continue;
    if (r.candidate.kind == "sampled")
      pool.push_back(&r);
    else
      chosen.push_back(r.candidate.id);
  }
  int wanted = config.search.select;
  while (wanted > 0 && !pool.empty()) {
    std::vector<std::vector<double>> points;
    for (const auto* r : pool) points.push_back({objective_value(config, *r), static_cast<double>(r->params)});
    auto front = pareto_front(points);
    std::sort(front.begin(), front.end(), [&](std::size_t a, std::size_t b) {
      return points[a][0] != points[b][0] ? points[a][0] < points[b][0]
                                          : pool[a]->candidate.id < pool[b]->candidate.id;
    });
    std::vector<bool> taken(pool.size(), false);
    for (std::size_t i : front) {
      if (wanted == 0) break;
      chosen.push_back(pool[i]->candidate.id);
      taken[i] = true;
      --wanted;
    }
    std::vector<const CandidateRecord*> rest;
    for (std::size_t i = 0; i < pool.size(); ++i)
      if (!taken[i]) rest.push_back(pool[i]);
    pool.swap(rest);
  }
  std::sort(chosen.begin(), chosen.end());
  return chosen;
}

}  // namespace concnas::search
