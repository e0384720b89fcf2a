#include "concnas/search/policy_search.h"

#include <algorithm>
#include <filesystem>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "concnas/arch/sep.h"
#include "concnas/common/atomic_file.h"
#include "concnas/common/error.h"
#include "concnas/common/rng.h"
#include "concnas/config/architecture_yaml.h"
#include "concnas/nn/weight_sharing.h"
#include "concnas/search/policy_controller.h"
#include "concnas/search/policy_traffic.h"
#include "concnas/train/evaluation.h"
#include "concnas/train/trainer.h"
#include "logged_training.h"
#include "policy_log.h"
#include "policy_report.h"
#include "policy_scorer.h"

namespace concnas::search {
namespace {

namespace fs = std::filesystem;
using Log = std::function<void(const std::string&)>;

// Streams of concnas's Rng: the shared network's policy per step, random search's draws.
constexpr std::uint64_t kSharedPolicyStream = 0x7368617265640000ULL;
constexpr std::uint64_t kRandomSearchStream = 0x72616e646f6d0000ULL;
constexpr std::uint64_t kWindowStream = 0x77696e646f770000ULL;  // + sample: its validation window

// What every stage of one run shares.
struct Run {
  const config::PolicyConfig& cfg;
  std::string out;
  bool resume;
  Log log;
  arch::StagingOptions staging;
  arch::NetworkOptions network;
  arch::SepOptions base;  ///< the policy section's network, no exchange
  std::int64_t full_bytes = 0;

  arch::Architecture architecture(const arch::SepOptions& o) const {
    return arch::sep_architecture(o, staging, network, cfg.base.arch.seed);
  }
  arch::SepOptions with(const std::vector<int>& permutations) const {
    auto o = base;
    o.permutations = permutations;
    return o;
  }
  arch::SepOptions shared() const {
    auto o = base;
    o.full = true;
    return o;
  }
  /// Full exchange of every channel in float32: the yardstick of traffic, and a baseline.
  arch::SepOptions full_exchange() const {
    auto o = shared();
    o.share = 1, o.fp16 = false;
    return o;
  }
  std::string path(const std::string& name) const { return out + "/" + name; }
  double traffic(std::int64_t bytes) const { return static_cast<double>(bytes) / static_cast<double>(full_bytes); }
};

Run make_run(const config::PolicyConfig& cfg, const std::string& out, bool resume, const Log& log) {
  const auto [input, classes] = train::dataset_shape(cfg.base);
  auto options = config::generate_options(cfg.base.arch, input, classes);
  options.network.sanity_check();
  Run run{cfg, out, resume, log, options.staging, options.network, {}, 0};
  const auto& p = cfg.policy;
  run.base.groups = p.groups, run.base.depth = p.depth, run.base.alpha = p.alpha;
  run.base.width = p.width, run.base.share = p.share, run.base.fp16 = p.fp16;
  run.base.sanity_check();
  run.full_bytes = policy_traffic(run.architecture(run.full_exchange()), p.groups).exchange_bytes;
  return run;
}

// Opens the output folder: a fresh run refuses one that holds a search; a resumed one
// refuses another config.
void open_folder(const Run& run) {
  const std::string yaml = config::to_yaml(run.cfg);
  if (!run.resume)
    CONCNAS_CHECK(!fs::exists(run.path("shared")) && !fs::exists(run.path("policies.jsonl")),
                  "{} holds a policy search: pass --resume to carry it on, or choose another --out", run.out);
  else if (fs::exists(run.path("config.yaml")))
    CONCNAS_CHECK(read_file(run.path("config.yaml")) == yaml,
                  "{}/config.yaml is another config than this one: resume with the config that started it", run.out);
  fs::create_directories(run.out);
  write_file_atomic(run.path("config.yaml"), yaml);
}

// The network of full exchange, trained with a random policy per step.
void train_shared(const Run& run) {
  train_logged(run.cfg.base, run.architecture(run.shared()), run.out, "shared", run.resume, run.log,
               [&](train::Trainer& trainer) {
                 trainer.set_before_step([base = run.base, seed = run.cfg.base.train.seed](nn::NetworkImpl& net,
                                                                                          std::int64_t step) {
                   if (step < 0) return net.set_inactive_edges({});
                   auto rng = Rng::derive(seed ^ kSharedPolicyStream, static_cast<std::uint64_t>(step));
                   net.set_inactive_edges(arch::edges_left_out(arch::random_policy(base, rng)));
                 });
               });
}

// Hands out scored rows: the logged ones first (a resumed search replays them, checking
// that it draws the same policies), then freshly scored ones, appended to the log.
class RowSource {
 public:
  RowSource(const Run& run, detail::PolicyScorer& scorer) : run_(run), scorer_(scorer) {
    const auto file = run.path("policies.jsonl");
    bool cut_short = false;
    if (run.resume) logged_ = detail::read_policy_log(file, &cut_short);
    // A fresh log, or one whose last line a kill cut short; a whole log stays untouched
    // until a row is appended.
    if (!run.resume || cut_short) detail::rewrite_policy_log(file, logged_);
  }

  PolicyRow next(const std::string& search, int seed, int sample, const arch::SepOptions& policy, bool final) {
    if (at_ < logged_.size()) {
      const auto& row = logged_[at_++];
      auto what = [](const std::string& search, int seed, bool final, int sample, const std::vector<int>& p) {
        return fmt::format("{} seed {} {} {} policy [{}]", search, seed, final ? "finalist" : "sample", sample,
                           fmt::join(p, ", "));
      };
      if (row.search != search || row.seed != seed || row.sample != sample || row.final != final ||
          row.permutations != policy.permutations)
        throw ParseError(run_.path("policies.jsonl"), static_cast<int>(at_),
                         fmt::format("logged {}, but the resumed search is at {}: this log is not this search's; "
                                     "start afresh", what(row.search, row.seed, row.final, row.sample, row.permutations),
                                     what(search, seed, final, sample, policy.permutations)));
      return row;
    }
    PolicyRow row = score(search, seed, sample, policy, final);
    detail::append_policy_row(run_.path("policies.jsonl"), row);
    run_.log(fmt::format("{} seed {} {} {}/{}: {} validation {:.2f}% ({} images), traffic {:.1f}%, reward {:.4f}",
                         search, seed, final ? "finalist" : "policy", sample + 1,
                         final ? run_.cfg.policy.finalists : run_.cfg.policy.samples, row.name,
                         100 * row.val_accuracy, row.images, 100 * row.traffic, row.reward));
    return row;
  }

 private:
  // A sample's validation window moves with its number (the same for both searches); a
  // finalist is scored on every image.
  std::pair<std::int64_t, std::int64_t> window(int seed, int sample, bool final) const {
    const std::int64_t n = scorer_.validation_images();
    const std::int64_t count = run_.cfg.policy.eval_images;
    if (final || count == 0 || count >= n) return {0, n};
    auto rng = Rng::derive(static_cast<std::uint64_t>(seed), kWindowStream + static_cast<std::uint64_t>(sample));
    return {static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(n - count + 1))), count};
  }

  PolicyRow score(const std::string& search, int seed, int sample, const arch::SepOptions& policy, bool final) {
    const auto a = run_.architecture(policy);
    const auto [first, count] = window(seed, sample, final);
    PolicyRow row{search, seed, sample, policy.permutations, a.name, final, count};
    row.val_accuracy = scorer_.accuracy(policy, first, count);
    row.exchange_bytes = policy_traffic(a, policy.groups).exchange_bytes;
    row.traffic = run_.traffic(row.exchange_bytes);
    row.reward = row.val_accuracy - run_.cfg.policy.penalty * row.traffic;
    return row;
  }

  const Run& run_;
  detail::PolicyScorer& scorer_;
  std::vector<PolicyRow> logged_;
  std::size_t at_ = 0;
};

void random_search(const Run& run, RowSource& rows, int seed, PolicyReport& report) {
  auto rng = Rng::derive(static_cast<std::uint64_t>(seed), kRandomSearchStream);
  for (int i = 0; i < run.cfg.policy.samples; ++i)
    report.rows.push_back(rows.next("random", seed, i, arch::random_policy(run.base, rng), false));
}

void controller_search(const Run& run, RowSource& rows, int seed, PolicyReport& report) {
  const auto& p = run.cfg.policy;
  const ControllerOptions options{p.controller_hidden, p.controller_lr, p.baseline_decay, p.entropy_weight};
  PolicyController controller(run.base.steps(), static_cast<int>(arch::permutation_count(p.groups)), options,
                              static_cast<std::uint64_t>(seed));
  std::vector<std::vector<int>> batch;
  std::vector<double> rewards;
  for (int i = 0; i < p.samples; ++i) {
    report.rows.push_back(rows.next("controller", seed, i, run.with(controller.sample()), false));
    batch.push_back(report.rows.back().permutations);
    rewards.push_back(report.rows.back().reward);
    if (static_cast<int>(batch.size()) == p.controller_batch || i + 1 == p.samples) {
      controller.learn(batch, rewards);
      batch.clear(), rewards.clear();
    }
  }
}

// Re-scores the search's best-rewarded samples of `seed` (distinct policies, best first) on
// every validation image; returns the best reward among them.
double finalists(const Run& run, RowSource& rows, const std::string& search, int seed, PolicyReport& report) {
  std::vector<PolicyRow> sampled;
  for (const auto& r : report.rows)
    if (r.search == search && r.seed == seed && !r.final) sampled.push_back(r);
  std::stable_sort(sampled.begin(), sampled.end(), [](const PolicyRow& a, const PolicyRow& b) {
    return a.reward > b.reward;
  });
  std::vector<std::vector<int>> picked;
  for (const auto& r : sampled)
    if (static_cast<int>(picked.size()) < run.cfg.policy.finalists &&
        std::find(picked.begin(), picked.end(), r.permutations) == picked.end())
      picked.push_back(r.permutations);
  double best = -1e300;
  for (std::size_t k = 0; k < picked.size(); ++k) {
    report.rows.push_back(rows.next(search, seed, static_cast<int>(k), run.with(picked[k]), true));
    best = std::max(best, report.rows.back().reward);
  }
  return best;
}

// Traffic and name of a network of `policy` trained in folder `dir`.
PolicyModel model_of(const Run& run, const std::string& what, const std::string& dir, const arch::SepOptions& policy,
                     const train::TrainResult& r) {
  const auto a = run.architecture(policy);
  const auto t = policy_traffic(a, policy.groups);
  PolicyModel m{what, dir, a.name, policy.full ? std::vector<int>{} : policy.permutations};
  m.val_accuracy = r.val_accuracy, m.test_accuracy = r.test_accuracy;
  m.exchange_bytes = t.exchange_bytes, m.plan_bytes = t.plan_bytes, m.traffic = run.traffic(t.exchange_bytes);
  return m;
}

// The fine-tuned weights with every exchanged tensor rounded to float16: test accuracy
// and traffic.
void measure_fp16(const Run& run, const arch::SepOptions& policy, const train::LabelledImages& images, PolicyModel& m) {
  auto half = policy;
  half.fp16 = true;
  const auto a = run.architecture(half);
  nn::Network net(a);
  train::load_weights(*net, run.path(m.dir + "/weights.pt"));
  m.test_accuracy_fp16 = train::evaluate(net, images.test_x, images.test_y, run.cfg.base.train.eval_batch_size).second;
  m.traffic_fp16 = run.traffic(policy_traffic(a, policy.groups).exchange_bytes);
}

// Fine-tunes a search's best policy from the shared weights.
PolicyModel finetune(const Run& run, const std::string& what, const PolicyRow& best,
                     const train::LabelledImages& images) {
  const auto policy = run.with(best.permutations);
  auto t = run.cfg.base;
  t.train.epochs = run.cfg.policy.finetune_epochs;
  t.train.lr = run.cfg.policy.finetune_lr;
  t.train.warmup_epochs = 0;
  const std::string dir = "finetune-" + what;
  const auto a = run.architecture(policy);
  run.log(fmt::format("fine-tuning {}'s best {} from the shared weights", what, a.name));
  const auto r = train_logged(t, a, run.out, dir, run.resume, run.log, [&](train::Trainer& trainer) {
    trainer.set_initial_weights([&](nn::NetworkImpl& net) {
      nn::Network shared(run.architecture(run.shared()));
      train::load_weights(*shared, run.path("shared/weights.pt"));
      nn::inherit_shared_weights(*shared, net);
    });
  });
  auto m = model_of(run, what, dir, policy, r);
  if (!policy.fp16) measure_fp16(run, policy, images, m);
  run.log(fmt::format("{}: test {:.2f}%, traffic {:.1f}%", a.name, 100 * m.test_accuracy, 100 * m.traffic));
  return m;
}

// Full and no exchange from scratch, for the shared training's and the fine-tuning's epochs.
std::vector<PolicyModel> train_baselines(const Run& run) {
  auto t = run.cfg.base;
  t.train.epochs += run.cfg.policy.finetune_epochs;
  std::vector<PolicyModel> out;
  for (const auto& [what, policy] :
       {std::pair{std::string("full"), run.full_exchange()}, std::pair{std::string("none"), run.base}})
    out.push_back(model_of(run, what, what, policy, train_logged(t, run.architecture(policy), run.out, what,
                                                                run.resume, run.log)));
  return out;
}

const PolicyRow& best_of(const std::vector<PolicyRow>& rows, const std::string& search) {
  const PolicyRow* best = nullptr;
  for (const auto& r : rows)
    if (r.search == search && r.final && (best == nullptr || r.reward > best->reward)) best = &r;
  return *best;
}

void search_policies(const Run& run, const train::LabelledImages& images, PolicyReport& report) {
  detail::PolicyScorer scorer(run.cfg, run.architecture(run.shared()), run.path("shared/weights.pt"), images);
  report.shared_val_accuracy = scorer.full_accuracy();
  RowSource rows(run, scorer);
  for (int seed = 0; seed < run.cfg.policy.seeds; ++seed) {
    SeedBest s{seed};
    random_search(run, rows, seed, report);
    s.random = finalists(run, rows, "random", seed, report);
    controller_search(run, rows, seed, report);
    s.controller = finalists(run, rows, "controller", seed, report);
    report.seeds.push_back(s);
    run.log(fmt::format("seed {}: best reward random {:.4f}, controller {:.4f}", seed, s.random, s.controller));
    detail::write_policy_report(report, run.cfg, run.out);
  }
}

}  // namespace

PolicyReport run_policy_search(const config::PolicyConfig& cfg, const std::string& out, bool resume,
                               const Log& log) {
  cfg.sanity_check();
  const Run run = make_run(cfg, out, resume, log);
  const bool fresh = !fs::exists(out);
  open_folder(run);
  PolicyReport report;
  report.full_bytes = run.full_bytes;
  try {
    train_shared(run);
  } catch (...) {
    // Refused before the shared run folder existed (unreadable data): leave nothing behind.
    if (fresh && !fs::exists(run.path("shared"))) fs::remove_all(out);
    throw;
  }
  train::configure_cpu_runtime(cfg.base.train.threads);
  const auto images = train::load_images(cfg.base);
  search_policies(run, images, report);
  for (const auto* what : {"controller", "random"}) {
    report.picks.push_back(finetune(run, what, best_of(report.rows, what), images));
    detail::write_policy_report(report, cfg, out);
  }
  config::save_architecture(run.architecture(run.with(report.picks.front().permutations)), run.path("best.yaml"));
  if (cfg.policy.baselines) report.baselines = train_baselines(run);
  detail::write_policy_report(report, cfg, out);
  return report;
}

}  // namespace concnas::search
