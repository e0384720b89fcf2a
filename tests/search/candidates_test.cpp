#include "concnas/search/candidates.h"

#include <gtest/gtest.h>

#include <fstream>

#include "concnas/search/results.h"
#include "support/expect_error.h"
#include "support/temp_dir.h"

namespace concnas::search {
namespace {

SearchConfig small_config(int candidates, int threads) {
  auto c = parse_search_config(R"(search:
  units: 3
  select: 3
space:
  generators:
    er: {p: [0.1, 0.3]}
    ws: {k: {choices: [2, 4]}}
    dp: {}
  nodes: [16, 20]
data:
  dataset: synthetic
  validation: 32
)",
                               "s.yaml");
  c.search.candidates = candidates;
  c.search.threads = threads;
  return c;
}

const arch::Shape kInput{1, 28, 28};

TEST(ACandidateSample, PutsTheBaselinesFirstAndIsReproducible) {
  const auto cfg = small_config(10, 1);
  const auto a = sample_candidates(cfg);
  ASSERT_EQ(a.size(), 12u);
  EXPECT_EQ(a[0].kind, "chain");
  EXPECT_EQ(a[1].kind, "randwire");
  for (std::size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i].id, static_cast<int>(i));
  const auto b = sample_candidates(cfg);
  for (std::size_t i = 2; i < a.size(); ++i) {
    EXPECT_EQ(a[i].arch.generator, b[i].arch.generator);
    EXPECT_EQ(a[i].arch.seed, b[i].arch.seed);
    EXPECT_EQ(a[i].arch.params, b[i].arch.params);
    EXPECT_TRUE(a[i].arch.nodes == 16 || a[i].arch.nodes == 20);
    if (a[i].arch.generator == "ws") {
      const double k = a[i].arch.params.get("k");
      EXPECT_TRUE(k == 2 || k == 4) << k;
    }
    if (a[i].arch.generator == "er") {
      EXPECT_GE(a[i].arch.params.get("p"), 0.1);
      EXPECT_LE(a[i].arch.params.get("p"), 0.3);
    }
  }
  // Another search seed samples other candidates.
  auto other = cfg;
  other.search.seed = 1;
  EXPECT_NE(sample_candidates(other)[5].arch.seed, a[5].arch.seed);
}

TEST(ACandidateEvaluation, GivesTheSameRecordsOnOneThreadAndOnSeveral) {
  const auto serial_cfg = small_config(30, 1);
  const auto parallel_cfg = small_config(30, 3);
  const auto candidates = sample_candidates(serial_cfg);
  std::vector<int> order;
  const auto serial = evaluate_candidates(serial_cfg, candidates, kInput, 10);
  const auto parallel = evaluate_candidates(parallel_cfg, candidates, kInput, 10,
                                            [&](const CandidateRecord& r) { order.push_back(r.candidate.id); });
  ASSERT_EQ(serial.size(), parallel.size());
  for (std::size_t i = 0; i < serial.size(); ++i) EXPECT_EQ(to_json_line(serial[i]), to_json_line(parallel[i]));
  // Handed over in candidate order, each once.
  ASSERT_EQ(order.size(), candidates.size());
  for (std::size_t i = 0; i < order.size(); ++i) EXPECT_EQ(order[i], static_cast<int>(i));
  // A record evaluated alone (as on --resume) equals the one from the batch.
  EXPECT_EQ(to_json_line(evaluate_candidate(serial_cfg, candidates[17], kInput, 10)), to_json_line(serial[17]));
}

TEST(ACandidateSample, TakesLcpAsAGeneratorAndAsABaseline) {
  auto c = parse_search_config(R"(search:
  units: 2
space:
  generators:
    lcp: {branches: {choices: [2, 4]}, width: [1, 1.5]}
  nodes: [16, 24]
  baselines: [chain, lcp]
  baseline_nodes: 16
data:
  dataset: synthetic
  validation: 32
)",
                               "s.yaml");
  c.search.candidates = 6;
  const auto candidates = sample_candidates(c);
  ASSERT_EQ(candidates.size(), 8u);
  EXPECT_EQ(candidates[1].kind, "lcp");
  for (const auto& cand : candidates) {
    const auto a = build_candidate(cand, c, kInput, 10);
    if (cand.kind == "chain") continue;
    EXPECT_EQ(a.provenance.generator, "lcp");
    EXPECT_EQ(a.output.merge, arch::Merge::kConcat);
    EXPECT_EQ(a.dag.num_compute(), cand.arch.nodes);
    const int k = static_cast<int>(a.provenance.params.get("branches"));
    EXPECT_TRUE(k == 2 || (cand.kind == "sampled" && k == 4)) << k;
    const auto record = evaluate_candidate(c, cand, kInput, 10);
    EXPECT_TRUE(record.feasible());
    EXPECT_GT(record.best_option().latency_ms, 0);
  }
  // A vertex count the branches cannot share is refused before any work.
  EXPECT_THROW(parse_search_config("space:\n  generators: {lcp: {branches: 3}}\n  nodes: [16]\n"
                                   "data: {dataset: synthetic, validation: 32}\n", "s.yaml"),
               ParseError);
  testing::expect_error_containing<ParseError>(
      [] {
        parse_search_config("space:\n  generators: {lcp: {branches: {choices: [2, 4]}, depth: 10}}\n  nodes: [20]\n"
                            "data: {dataset: synthetic, validation: 32}\n", "s.yaml");
      },
      "s.yaml:2: space.generators.lcp: branches = 4, depth = 10 at 20 vertices");
  testing::expect_error_containing<ParseError>(
      [] {
        parse_search_config("space:\n  baselines: [lcp]\n  baseline_nodes: 15\n"
                            "data: {dataset: synthetic, validation: 32}\n", "s.yaml");
      },
      "s.yaml:3: space.baseline_nodes: 15 do not suit the lcp baseline");
}

TEST(ACandidateRecord, RoundTripsThroughItsJsonLine) {
  const auto cfg = small_config(3, 1);
  const auto records = evaluate_candidates(cfg, sample_candidates(cfg), kInput, 10);
  for (const auto& r : records) {
    const std::string line = to_json_line(r);
    EXPECT_EQ(to_json_line(candidate_from_json_line(line, "c.jsonl")), line);
  }
  EXPECT_THROW(candidate_from_json_line("{\"id\": 3}", "c.jsonl line 2"), ParseError);
}

TEST(ACandidateRecord, IsRejectedByTheFirstConstraintItBreaks) {
  auto cfg = small_config(4, 1);
  cfg.constraints.max_params = 1;
  for (const auto& r : evaluate_candidates(cfg, sample_candidates(cfg), kInput, 10)) {
    EXPECT_FALSE(r.feasible());
    EXPECT_NE(r.rejected.find("max_params"), std::string::npos) << r.rejected;
  }
  cfg.constraints = {};
  cfg.constraints.max_latency_ms = 1e-9;
  for (const auto& r : evaluate_candidates(cfg, sample_candidates(cfg), kInput, 10))
    EXPECT_NE(r.rejected.find("max_latency_ms"), std::string::npos) << r.rejected;
}

TEST(AParetoFront, KeepsExactlyThePointsNothingDominates) {
  const std::vector<std::vector<double>> points{{1, 5}, {2, 2}, {5, 1}, {3, 3}, {2, 2}, {6, 6}, {1, 6}};
  // (3,3) and (6,6) are dominated by (2,2); (1,6) by (1,5); equal points do not dominate each other.
  EXPECT_EQ(pareto_front(points), (std::vector<std::size_t>{0, 1, 2, 4}));
}

TEST(ATrainingSelection, TakesFrontsInTurnAndEveryFeasibleBaseline) {
  auto cfg = small_config(0, 1);
  cfg.search.select = 3;
  auto record = [](int id, const char* kind, double latency, std::int64_t params, bool ok = true) {
    CandidateRecord r;
    r.candidate.id = id;
    r.candidate.kind = kind;
    r.params = params;
    r.options = {{1.03, 1.0, 0, 1.0, latency, 1.0}};
    if (!ok) r.rejected = "params";
    return r;
  };
  const std::vector<CandidateRecord> records{
      record(0, "chain", 9, 9),        record(1, "randwire", 9, 9, false), record(2, "sampled", 1, 5),
      record(3, "sampled", 5, 1),      record(4, "sampled", 2, 6),         record(5, "sampled", 3, 3),
      record(6, "sampled", 0.5, 1, false)};
  // Front 1: 2, 3, 5 (4 is dominated by 2); the infeasible 6 and randwire never train.
  EXPECT_EQ(select_for_training(cfg, records), (std::vector<int>{0, 2, 3, 5}));
  cfg.search.select = 4;
  EXPECT_EQ(select_for_training(cfg, records), (std::vector<int>{0, 2, 3, 4, 5}));
  cfg.search.select = 1;  // within a front, the lowest objective first
  EXPECT_EQ(select_for_training(cfg, records), (std::vector<int>{0, 2}));
}

class AJsonlLog : public testing::TempDirTest {};

TEST_F(AJsonlLog, DropsALineCutShortByACrashAndKeepsTheRest) {
  const std::string p = path("log.jsonl");
  append_jsonl(p, "{\"a\":1}");
  append_jsonl(p, "{\"a\":2}");
  {
    std::ofstream out(p, std::ios::app);
    out << "{\"a\":3, \"tor";  // killed mid-write
  }
  EXPECT_EQ(read_jsonl(p, /*repair=*/false).size(), 2u);
  EXPECT_EQ(read_jsonl(p, /*repair=*/true), (std::vector<std::string>{"{\"a\":1}", "{\"a\":2}"}));
  append_jsonl(p, "{\"a\":4}");
  EXPECT_EQ(read_jsonl(p, false), (std::vector<std::string>{"{\"a\":1}", "{\"a\":2}", "{\"a\":4}"}));
  EXPECT_TRUE(read_jsonl(path("missing.jsonl"), true).empty());
}

}  // namespace
}  // namespace concnas::search

namespace concnas::search {
namespace {

class ASearchWithDevices : public concnas::testing::TempDirTest {
 protected:
  SearchConfig config_with(const std::string& devices_file) const {
    return parse_search_config("search:\n  units: 2\n  devices: " + devices_file +
                                   "\nspace:\n  generators: {dp: {}}\n  nodes: [16]\ndata:\n  dataset: synthetic\n"
                                   "  validation: 32\n",
                               "s.yaml");
  }
};

TEST_F(ASearchWithDevices, PredictsLatencyForTheDevicesItNames) {
  std::ofstream(path("slow.yaml")) << "device: {flops_per_s: 1.0e8}\nlink: {latency_s: 0.001}\n";
  const auto slow = config_with(path("slow.yaml"));
  EXPECT_EQ(slow.device_model.flops_per_s, (std::vector<double>{1.0e8, 1.0e8}));
  EXPECT_EQ(slow.link_model.latency_s, 0.001);
  auto plain = slow;
  plain.search.devices.clear();
  plain.device_model = {};
  plain.link_model = {};
  const auto candidate = sample_candidates(slow).back();
  const auto a = evaluate_candidate(slow, candidate, kInput, 10);
  const auto b = evaluate_candidate(plain, candidate, kInput, 10);
  EXPECT_GT(a.best_option().latency_ms, 2 * b.best_option().latency_ms);
  EXPECT_NE(to_yaml(slow).find("devices: \"" + path("slow.yaml") + "\""), std::string::npos);
}

TEST_F(ASearchWithDevices, RefusesAMissingFileOrOneForOtherUnits) {
  EXPECT_THROW(config_with(path("none.yaml")), IoError);
  std::ofstream(path("three.yaml")) << "devices:\n  - {flops_per_s: 1e9}\n  - {flops_per_s: 1e9}\n"
                                       "  - {flops_per_s: 1e9}\n";
  testing::expect_parse_error_at([&] { config_with(path("three.yaml")); }, 2, "3 units, but 2 are used");
}

}  // namespace
}  // namespace concnas::search
