#include "concnas/search/runner.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "concnas/arch/dot.h"
#include "concnas/common/atomic_file.h"
#include "concnas/common/rng.h"
#include "concnas/config/architecture_yaml.h"
#include "concnas/data/image_set.h"
#include "concnas/partition/score.h"
#include "concnas/train/trainer.h"

namespace concnas::search {
namespace fs = std::filesystem;
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// Reads the data set's test split once, so a missing or corrupt data set is reported
// before any work starts.
void check_data(const config::TrainConfig& c) {
  const auto& d = c.data;
  std::size_t train_images = static_cast<std::size_t>(d.synthetic_train);
  if (d.dataset == "cifar10") {
    data::load_cifar10(d.path, data::Split::kTest);
    train_images = data::load_cifar10(d.path, data::Split::kTrain).size();
  } else if (d.dataset != "synthetic") {
    const std::string dir = d.path.empty() ? data::kFashionMnistDir : d.path;
    data::load_mnist_format(dir, data::Split::kTest, d.dataset);
    train_images = data::load_mnist_format(dir, data::Split::kTrain, d.dataset).size();
  }
  CONCNAS_CHECK(static_cast<std::size_t>(d.validation) < train_images,
                "data.validation: {} leaves nothing of the {} training images", d.validation, train_images);
}

bool same_candidate(const Candidate& a, const Candidate& b) {
  return a.id == b.id && a.kind == b.kind && a.arch.generator == b.arch.generator &&
         a.arch.seed == b.arch.seed && a.arch.nodes == b.arch.nodes && a.arch.params == b.arch.params;
}

// A path as one single-quoted shell word.
std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

bool have_graphviz() { return std::system("command -v dot >/dev/null 2>&1") == 0; }

}  // namespace

SearchRunner::SearchRunner(SearchConfig config, std::string run_dir)
    : config_(std::move(config)), dir_(std::move(run_dir)) {
  config_.sanity_check();
}

void SearchRunner::check_stop() const {
  if (stop_ != nullptr && stop_->load())
    throw Interrupted(fmt::format("interrupted; everything finished is saved in {}; continue with --resume", dir_));
}

SearchSummary SearchRunner::run(bool resume) {
  const auto& cfg = config_;
  const std::string candidates_path = dir_ + "/candidates.jsonl";
  const std::string trials_path = dir_ + "/trials.jsonl";
  const std::string config_path = dir_ + "/config.yaml";
  const std::string resolved = to_yaml(cfg);
  if (resume) {
    CONCNAS_CHECK(fs::exists(config_path), "nothing to resume: {} not found", config_path);
    CONCNAS_CHECK(read_file(config_path) == resolved,
                  "{} was written by a different config; resume with the same config and --set "
                  "values, or start another --out",
                  config_path);
  } else {
    CONCNAS_CHECK(!fs::exists(candidates_path) && !fs::exists(trials_path),
                  "{} already holds a search; use --resume or another --out", dir_);
  }
  if (!cfg.search.rungs.empty()) check_data(cfg.base);  // a score-only search reads no images
  const auto candidates = sample_candidates(cfg);
  // The baselines are fixed networks: if they do not fit the data, say so before any work.
  {
    const auto [input, classes] = train::dataset_shape(cfg.base);
    for (const auto& c : candidates) {
      if (c.kind == "sampled") continue;
      try {
        build_candidate(c, cfg, input, classes);
      } catch (const InvalidArgument& e) {
        throw InvalidArgument(fmt::format("space.baselines: the {} baseline does not fit this data and the "
                                          "baseline_* settings: {}", c.kind, e.what()));
      }
    }
  }
  fs::create_directories(dir_);
  write_file_atomic(config_path, resolved);

  SearchSummary summary;
  const auto [input, classes] = train::dataset_shape(cfg.base);

  // Stage 1: sample, build, cost and score; every record appended as it completes.
  auto t0 = Clock::now();
  std::map<int, CandidateRecord> by_id;
  {
    const auto lines = read_jsonl(candidates_path, /*repair=*/true);
    for (std::size_t i = 0; i < lines.size(); ++i) {
      auto r = candidate_from_json_line(lines[i], fmt::format("{} line {}", candidates_path, i + 1));
      const int id = r.candidate.id;
      CONCNAS_CHECK(id >= 0 && id < static_cast<int>(candidates.size()) && same_candidate(r.candidate, candidates[id]),
                    "{} line {}: candidate {} does not belong to this config", candidates_path, i + 1, id);
      by_id[id] = std::move(r);
    }
  }
  std::vector<Candidate> todo;
  for (const auto& c : candidates)
    if (!by_id.count(c.id)) todo.push_back(c);
  const auto total = static_cast<std::int64_t>(candidates.size());
  std::int64_t done = static_cast<std::int64_t>(by_id.size());
  if (progress_) progress_("score", done, total, "");
  evaluate_candidates(cfg, todo, input, classes, [&](const CandidateRecord& r) {
    // Saved first: a stop request keeps every finished record.
    append_jsonl(candidates_path, to_json_line(r));
    by_id[r.candidate.id] = r;
    ++done;
    if (progress_) progress_("score", done, total, r.name);
    check_stop();
  });
  for (auto& [id, r] : by_id) summary.candidates.push_back(r);
  summary.stage_seconds.push_back({"score", seconds_since(t0)});

  // Stage 2: who trains.
  t0 = Clock::now();
  std::vector<int> entrants = select_for_training(cfg, summary.candidates);
  write_file_atomic(dir_ + "/selected.json", nlohmann::json(entrants).dump() + "\n");
  summary.stage_seconds.push_back({"select", seconds_since(t0)});

  // Stage 3: successive halving. A trial's record is the proof it finished.
  t0 = Clock::now();
  std::map<std::pair<int, int>, TrialRecord> trials;
  {
    const auto lines = read_jsonl(trials_path, /*repair=*/true);
    for (std::size_t i = 0; i < lines.size(); ++i) {
      auto t = trial_from_json_line(lines[i], fmt::format("{} line {}", trials_path, i + 1));
      trials[{t.candidate, t.rung}] = t;
    }
  }
  const int rungs = static_cast<int>(cfg.search.rungs.size());
  for (int rung = 0; rung < rungs && !entrants.empty(); ++rung) {
    const auto& spec = cfg.search.rungs[rung];
    const std::string stage = fmt::format("train rung {}/{}", rung + 1, rungs);
    std::int64_t finished = 0;
    for (int id : entrants) finished += trials.count({id, rung}) ? 1 : 0;
    if (progress_) progress_(stage, finished, static_cast<std::int64_t>(entrants.size()), "");
    for (int id : entrants) {
      if (trials.count({id, rung})) continue;
      check_stop();
      const auto& record = by_id.at(id);
      // The trial's config names the candidate's architecture file, saved once.
      auto architecture = build_candidate(record.candidate, cfg, input, classes);
      const std::string arch_path = fmt::format("{}/archs/{}.yaml", dir_, record.name);
      if (!fs::exists(arch_path)) {
        fs::create_directories(dir_ + "/archs");
        config::save_architecture(architecture, arch_path);
      }
      config::TrainConfig tc = cfg.base;
      tc.arch = config::ArchSection();
      tc.arch.file = arch_path;
      tc.data.train_subset = spec.train_subset;
      tc.train.epochs = spec.epochs;
      const std::string trial_dir = fmt::format("{}/trials/c{}-r{}", dir_, id, rung + 1);
      train::Trainer trainer(tc, std::move(architecture), trial_dir);
      trainer.set_progress([&](int epoch, int epochs, std::int64_t b, std::int64_t batches, double loss) {
        check_stop();
        if (progress_)
          progress_(stage, finished, static_cast<std::int64_t>(entrants.size()),
                    fmt::format("{} epoch {}/{} batch {}/{} loss {:.3f}", record.name, epoch, epochs, b,
                                batches, loss));
      });
      TrialRecord t{id, rung, spec.train_subset, spec.epochs, 0, 0, 0, record.params, 0, ""};
      try {
        const auto r = trainer.run(fs::exists(trial_dir + "/checkpoint.pt"));
        t.val_accuracy = r.val_accuracy;
        t.test_accuracy = r.test_accuracy;
        t.test_loss = r.test_loss;
        t.params = r.params;
        t.seconds = r.seconds;
      } catch (const Interrupted&) {
        throw;
      } catch (const Error& e) {
        // A training that fails (a NaN loss) is recorded, not retried on every resume:
        // it ranks last and is never promoted.
        t.failed = e.what();
        if (t.failed.empty()) t.failed = "failed";
      }
      append_jsonl(trials_path, to_json_line(t));
      trials[{id, rung}] = t;
      ++finished;
      if (progress_)
        progress_(stage, finished, static_cast<std::int64_t>(entrants.size()),
                  t.failed.empty() ? fmt::format("{}: val {:.2f}% test {:.2f}%", record.name,
                                                 100 * t.val_accuracy, 100 * t.test_accuracy)
                                   : fmt::format("{}: training failed: {}", record.name, t.failed));
    }
    if (rung + 1 == rungs) break;
    // Promote the best fraction of the sampled by validation accuracy; baselines always go on.
    std::vector<int> sampled, next;
    for (int id : entrants) {
      if (!trials.at({id, rung}).failed.empty()) continue;
      (by_id.at(id).candidate.kind == "sampled" ? sampled : next).push_back(id);
    }
    std::stable_sort(sampled.begin(), sampled.end(), [&](int a, int b) {
      return trials.at({a, rung}).val_accuracy > trials.at({b, rung}).val_accuracy;
    });
    // The tolerance keeps 0.55 x 100 at 55 despite binary rounding.
    const auto keep = static_cast<std::size_t>(std::ceil(cfg.search.keep * sampled.size() - 1e-9));
    next.insert(next.end(), sampled.begin(), sampled.begin() + std::min(keep, sampled.size()));
    std::sort(next.begin(), next.end());
    entrants = next;
  }
  for (const auto& [key, t] : trials) summary.trials.push_back(t);
  summary.stage_seconds.push_back({"train", seconds_since(t0)});

  // Stage 4: the front, best/ and the report.
  t0 = Clock::now();
  const int last_rung = rungs - 1;
  const auto final = final_entries(summary.candidates, summary.trials, last_rung);
  write_file_atomic(dir_ + "/pareto.csv", pareto_csv(final));
  ReportInput report;
  report.config = &cfg;
  report.candidates = &summary.candidates;
  report.trials = &summary.trials;
  report.final = final;
  const bool graphviz = have_graphviz();
  const auto partitioners = partition::builtin_partitioners();
  for (const auto& e : final) {
    if (!e.on_front) continue;
    const auto& c = *e.candidate;
    summary.front.push_back(c.candidate.id);
    const std::string out = fmt::format("{}/best/{}", dir_, c.name);
    fs::create_directories(out);
    const auto a = build_candidate(c.candidate, cfg, input, classes);
    config::save_architecture(a, out + "/arch.yaml");
    // Colour by the best partition, re-scored with the candidate's seed (same parts).
    partition::ScoreOptions so;
    so.units = cfg.search.units;
    so.epsilons = {c.best_option().epsilon};
    so.partitioner = cfg.search.partitioner;
    so.seed = mix_seed(cfg.search.seed) ^ static_cast<std::uint64_t>(c.candidate.id);
    const auto score = partition::score_architecture(a, so, partitioners);
    arch::DotOptions dot;
    const auto& parts = score.best().parts;
    dot.unit_of.assign(parts.begin(), parts.begin() + a.dag.num_compute());
    write_file_atomic(out + "/arch.dot", arch::to_dot(a, dot));
    const std::string q = shell_quote(out);
    if (graphviz && std::system(fmt::format("dot -Tsvg {0}/arch.dot -o {0}/arch.svg.tmp && mv {0}/arch.svg.tmp {0}/arch.svg",
                                            q).c_str()) == 0) {
      std::string svg = read_file(out + "/arch.svg");
      const auto at = svg.find("<svg");
      report.pictures[c.candidate.id] = at == std::string::npos ? svg : svg.substr(at);
    }
    const std::string weights = fmt::format("{}/trials/c{}-r{}/weights.pt", dir_, c.candidate.id, last_rung + 1);
    if (fs::exists(weights)) {
      fs::copy_file(weights, out + "/weights.pt.tmp", fs::copy_options::overwrite_existing);
      fs::rename(out + "/weights.pt.tmp", out + "/weights.pt");
    }
  }
  summary.stage_seconds.push_back({"report", seconds_since(t0)});
  report.stage_seconds = summary.stage_seconds;
  write_file_atomic(dir_ + "/report.html", report_html(report));

  nlohmann::ordered_json js{{"candidates", summary.candidates.size()},
                            {"trials", summary.trials.size()},
                            {"front", summary.front},
                            {"graphviz", graphviz}};
  nlohmann::ordered_json stages = nlohmann::ordered_json::object();
  for (const auto& [name, s] : summary.stage_seconds) stages[name] = s;
  js["stage_seconds"] = stages;
  write_file_atomic(dir_ + "/summary.json", js.dump(2) + "\n");
  return summary;
}

}  // namespace concnas::search
