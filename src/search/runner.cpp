#include "concnas/search/runner.h"

#include <chrono>
#include <filesystem>
#include <map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "concnas/common/atomic_file.h"
#include "concnas/data/dataset.h"
#include "concnas/train/trainer.h"
#include "front.h"
#include "trial_trainer.h"

namespace concnas::search {
namespace fs = std::filesystem;
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// Reads the data set's splits once, so a missing or corrupt data set is reported before
// any work starts.
void check_data(const config::TrainConfig& c) {
  const auto& d = c.data;
  const auto& dataset = data::builtin_datasets().get(d.dataset);
  const auto options = config::dataset_options(d, c.train.seed);
  dataset.load(options, data::Split::kTest);
  const std::size_t train_images = dataset.load(options, data::Split::kTrain).size();
  CONCNAS_CHECK(static_cast<std::size_t>(d.validation) < train_images,
                "data.validation: {} leaves nothing of the {} training images", d.validation, train_images);
}

// The baselines are fixed networks: if they do not fit the data, say so before any work.
void check_baselines(const SearchConfig& cfg, const std::vector<Candidate>& candidates) {
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

bool same_candidate(const Candidate& a, const Candidate& b) {
  return a.id == b.id && a.kind == b.kind && a.arch.generator == b.arch.generator &&
         a.arch.seed == b.arch.seed && a.arch.nodes == b.arch.nodes && a.arch.params == b.arch.params;
}

// The candidate records an earlier run of this folder logged.
std::map<int, CandidateRecord> logged_candidates(const std::string& path, const std::vector<Candidate>& candidates) {
  std::map<int, CandidateRecord> by_id;
  const auto lines = read_jsonl(path, /*repair=*/true);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    auto r = candidate_from_json_line(lines[i], fmt::format("{} line {}", path, i + 1));
    const int id = r.candidate.id;
    CONCNAS_CHECK(id >= 0 && id < static_cast<int>(candidates.size()) && same_candidate(r.candidate, candidates[id]),
                  "{} line {}: candidate {} does not belong to this config", path, i + 1, id);
    by_id[id] = std::move(r);
  }
  return by_id;
}

void write_summary(const std::string& path, const SearchSummary& summary, bool graphviz,
                   const std::optional<DeployedPick>& deployed) {
  nlohmann::ordered_json js{{"candidates", summary.candidates.size()},
                            {"trials", summary.trials.size()},
                            {"front", summary.front},
                            {"graphviz", graphviz}};
  if (deployed)
    js["deployed"] = {{"name", deployed->name},          {"units", deployed->units},
                      {"predicted_ms", deployed->predicted_ms}, {"measured_ms", deployed->measured_ms},
                      {"folder", deployed->folder},      {"error", deployed->error}};
  nlohmann::ordered_json stages = nlohmann::ordered_json::object();
  for (const auto& [name, s] : summary.stage_seconds) stages[name] = s;
  js["stage_seconds"] = stages;
  write_file_atomic(path, js.dump(2) + "\n");
}

}  // namespace

SearchRunner::SearchRunner(SearchConfig config, std::string run_dir)
    : config_(std::move(config)),
      dir_(std::move(run_dir)),
      strategy_(std::make_unique<SuccessiveHalving>(config_.search.keep)),
      executor_(std::make_unique<LocalTrialExecutor>(config_, dir_)) {
  config_.sanity_check();
}

void SearchRunner::check_stop() const {
  if (stop_ != nullptr && stop_->load())
    throw Interrupted(fmt::format("interrupted; everything finished is saved in {}; continue with --resume", dir_));
}

void SearchRunner::open_folder(bool resume, const std::vector<Candidate>& candidates) const {
  const std::string config_path = dir_ + "/config.yaml";
  const std::string resolved = to_yaml(config_);
  if (resume) {
    CONCNAS_CHECK(fs::exists(config_path), "nothing to resume: {} not found", config_path);
    CONCNAS_CHECK(read_file(config_path) == resolved,
                  "{} was written by a different config; resume with the same config and --set "
                  "values, or start another --out",
                  config_path);
  } else {
    CONCNAS_CHECK(!fs::exists(dir_ + "/candidates.jsonl") && !fs::exists(dir_ + "/trials.jsonl"),
                  "{} already holds a search; use --resume or another --out", dir_);
  }
  if (!config_.search.rungs.empty()) check_data(config_.base);  // a score-only search reads no images
  check_baselines(config_, candidates);
  fs::create_directories(dir_);
  write_file_atomic(config_path, resolved);
}

std::map<int, CandidateRecord> SearchRunner::score_stage(const std::vector<Candidate>& candidates) const {
  const std::string path = dir_ + "/candidates.jsonl";
  auto by_id = logged_candidates(path, candidates);
  std::vector<Candidate> todo;
  for (const auto& c : candidates)
    if (!by_id.count(c.id)) todo.push_back(c);
  const auto total = static_cast<std::int64_t>(candidates.size());
  auto done = static_cast<std::int64_t>(by_id.size());
  if (progress_) progress_("score", done, total, "");
  const auto [input, classes] = train::dataset_shape(config_.base);
  evaluate_candidates(config_, todo, input, classes, [&](const CandidateRecord& r) {
    // Saved first: a stop request keeps every finished record.
    append_jsonl(path, to_json_line(r));
    by_id[r.candidate.id] = r;
    ++done;
    if (progress_) progress_("score", done, total, r.name);
    check_stop();
  });
  return by_id;
}

std::optional<DeployedPick> SearchRunner::deploy_pick(const std::vector<FinalEntry>& final, int last_rung) const {
  const FinalEntry* pick = nullptr;
  for (const auto& e : final)
    if (e.on_front && (!pick || e.trial->test_accuracy > pick->trial->test_accuracy)) pick = &e;
  if (!deployer_ || !pick) return std::nullopt;
  const auto& c = *pick->candidate;
  if (progress_) progress_("deploy", 0, 1, c.name);
  DeployedPick d;
  try {
    d = deployer_(c, fmt::format("{}/best/{}", dir_, c.name),
                  fmt::format("{}/trials/c{}-r{}", dir_, c.candidate.id, last_rung + 1));
  } catch (const Error& e) {
    d.name = c.name;
    d.units = config_.search.units;
    d.error = e.what();
  }
  if (progress_)
    progress_("deploy", 1, 1, d.error.empty() ? fmt::format("{}: predicted {:.3f} ms, measured {:.3f} ms", c.name,
                                                            d.predicted_ms, d.measured_ms)
                                              : c.name + ": " + d.error);
  return d;
}

SearchSummary SearchRunner::run(bool resume) {
  const auto candidates = sample_candidates(config_);
  open_folder(resume, candidates);
  SearchSummary summary;
  auto t0 = Clock::now();
  const auto by_id = score_stage(candidates);
  for (const auto& [id, r] : by_id) summary.candidates.push_back(r);
  summary.stage_seconds.push_back({"score", seconds_since(t0)});

  t0 = Clock::now();
  const std::vector<int> entrants = select_for_training(config_, summary.candidates);
  write_file_atomic(dir_ + "/selected.json", nlohmann::json(entrants).dump() + "\n");
  summary.stage_seconds.push_back({"select", seconds_since(t0)});

  t0 = Clock::now();
  detail::TrialTrainer trials(config_, dir_, by_id, *executor_, progress_, [this] { check_stop(); });
  strategy_->run(entrants, trials);
  summary.trials = trials.all();
  summary.stage_seconds.push_back({"train", seconds_since(t0)});

  t0 = Clock::now();
  const int last_rung = static_cast<int>(config_.search.rungs.size()) - 1;
  ReportInput report{&config_, &summary.candidates, &summary.trials,
                     final_entries(summary.candidates, summary.trials, last_rung), {}, {}, std::nullopt};
  write_file_atomic(dir_ + "/pareto.csv", pareto_csv(report.final));
  auto front = detail::write_front(config_, dir_, report.final, last_rung);
  summary.front = front.front;
  report.pictures = std::move(front.pictures);
  report.deployed = deploy_pick(report.final, last_rung);
  summary.stage_seconds.push_back({"report", seconds_since(t0)});
  report.stage_seconds = summary.stage_seconds;
  write_file_atomic(dir_ + "/report.html", report_html(report));
  write_summary(dir_ + "/summary.json", summary, front.graphviz, report.deployed);
  return summary;
}

}  // namespace concnas::search
