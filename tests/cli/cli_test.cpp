// Runs the concnas binary as a user would and checks outputs, exit codes and messages.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <vector>

#include <nlohmann/json.hpp>

#include "concnas/common/cpu_quota.h"
#include "concnas/data/image_set.h"
#include "support/temp_dir.h"

namespace fs = std::filesystem;

namespace {

// The CPUs this test may run on, ascending (`concnas run --local --pin` takes the first),
// as the kernel lists them ("0-3,8").
std::vector<int> allowed_cpus() {
  std::ifstream status("/proc/self/status");
  std::vector<int> out;
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("Cpus_allowed_list:", 0) != 0) continue;
    std::istringstream ranges(line.substr(line.find(':') + 1));
    for (std::string range; std::getline(ranges, range, ',');) {
      int first = 0, last = -1;
      const int n = std::sscanf(range.c_str(), "%d-%d", &first, &last);
      for (int c = first; n >= 1 && c <= (n == 2 ? last : first); ++c) out.push_back(c);
    }
  }
  return out;
}

struct Result {
  int code = -1;
  std::string out;
  std::string err;
};

class TheCli : public concnas::testing::TempDirTest {
 protected:
  static std::string slurp(const std::string& p) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  Result run(const std::string& args) const {
    const std::string out = path("stdout.txt");
    const std::string err = path("stderr.txt");
    const std::string cmd = std::string(CONCNAS_CLI) + " " + args + " >" + out + " 2>" + err;
    const int status = std::system(cmd.c_str());
    Result r;
    r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    r.out = slurp(out);
    r.err = slurp(err);
    return r;
  }

  void write(const std::string& name, const std::string& text) const {
    std::ofstream(path(name)) << text;
  }

  // A bad invocation: non-zero exit, exactly one line on stderr naming `fragment`, and
  // no output file left behind.
  void expect_rejected(const std::string& args, const std::string& fragment, int code = 2) {
    const auto r = run(args);
    EXPECT_EQ(r.code, code) << args << "\n" << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_EQ(r.err.rfind("concnas: error: ", 0), 0u) << r.err;
    EXPECT_NE(r.err.find(fragment), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(path("out.yaml"))) << args;
    for (const auto& entry : fs::directory_iterator(dir_))
      EXPECT_EQ(entry.path().filename().string().find(".tmp."), std::string::npos);
  }
};

TEST_F(TheCli, GeneratesAnArchitectureAndDescribesItAsJson) {
  const auto g = run("generate --generator dp --nodes 40 --param alpha=1 --param beta=2 "
                     "--param p=0.75 --seed 3 -o " + path("a.yaml") + " --dot " + path("a.dot"));
  ASSERT_EQ(g.code, 0) << g.err;
  ASSERT_TRUE(fs::exists(path("a.dot")));
  EXPECT_NE(slurp(path("a.dot")).find("digraph"), std::string::npos);
  const auto info = run("info --json " + path("a.yaml"));
  ASSERT_EQ(info.code, 0) << info.err;
  const auto j = nlohmann::json::parse(info.out);
  EXPECT_EQ(j["vertices"], 40);
  EXPECT_EQ(j["edge_list"].size(), j["edges"].get<std::size_t>());
  for (const auto& e : j["edge_list"]) {
    EXPECT_GE(e[0].get<int>(), 0);
    EXPECT_LT(e[1].get<int>(), 40);
  }
  EXPECT_GE(j["longest_path"].get<int>(), 1);
  EXPECT_GE(j["components"].get<int>(), 1);
  EXPECT_GT(j["params"].get<long>(), 0);
  EXPECT_GT(j["flops"].get<long>(), 0);
  const auto text = run("info " + path("a.yaml"));
  EXPECT_EQ(text.code, 0);
  EXPECT_NE(text.out.find("longest path"), std::string::npos);
}

TEST_F(TheCli, WritesByteIdenticalFilesForTheSameSeed) {
  for (const char* g : {"er", "ba", "ws", "dp"}) {
    const std::string base = std::string("generate -g ") + g + " -n 40 --seed 12 -o ";
    ASSERT_EQ(run(base + path("a.yaml") + " --dot " + path("a.dot")).code, 0);
    ASSERT_EQ(run(base + path("b.yaml") + " --dot " + path("b.dot")).code, 0);
    EXPECT_EQ(slurp(path("a.yaml")), slurp(path("b.yaml"))) << g;
    EXPECT_EQ(slurp(path("a.dot")), slurp(path("b.dot"))) << g;
  }
}

TEST_F(TheCli, TakesAUsersEdgeFile) {
  write("g.txt", "# two branches\nnodes 5\n0 1\n1 2\n3 4\n");
  const auto r = run("generate --from-edges " + path("g.txt") + " --staging greedy -o " + path("a.yaml"));
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = nlohmann::json::parse(run("info --json " + path("a.yaml")).out);
  EXPECT_EQ(j["vertices"], 5);
  EXPECT_EQ(j["edges"], 3);
  EXPECT_EQ(j["components"], 2);
  EXPECT_EQ(j["longest_path"], 3);
  EXPECT_EQ(j["generator"], "edges");
}

TEST_F(TheCli, RejectsBadGeneratorOptions) {
  const std::string o = " -o " + path("out.yaml");
  expect_rejected("generate -g nope -n 10" + o, "unknown generator 'nope'");
  expect_rejected("generate -g dp -n 10 --staging lazy" + o, "unknown staging policy 'lazy'");
  expect_rejected("generate -g er -n 1" + o, "at least 2 nodes");
  expect_rejected("generate -g er -n 10 -p p=1.5" + o, "p=1.5");
  expect_rejected("generate -g dp -n 10 -p p=-0.5" + o, "p=-0.5");
  expect_rejected("generate -g ws -n 10 -p k=3" + o, "k=3");
  expect_rejected("generate -g ws -n 10 -p k=10" + o, "k=10");
  expect_rejected("generate -g ba -n 10 -p m=10" + o, "m=10");
  expect_rejected("generate -g er -n 10 -p oops" + o, "KEY=VALUE");
  expect_rejected("generate -g er -n 10 --orientation bfs" + o, "unknown orientation 'bfs'");
  expect_rejected("generate -g er -n 10 --stage-probability 2" + o, "[0, 1]");
  expect_rejected("generate -g er -n 10 --input-shape 28x28" + o, "--input-shape");
  expect_rejected("generate -g er" + o, "--nodes");
  expect_rejected("generate -n 10" + o, "--generator");
  expect_rejected("generate -g er -n 10", "--output");
  expect_rejected("frobnicate", "frobnicate");
}

TEST_F(TheCli, RejectsBadEdgeFilesNamingFileAndLine) {
  const std::string o = " -o " + path("out.yaml");
  write("bad.txt", "0 1\n1 two\n");
  expect_rejected("generate --from-edges " + path("bad.txt") + o, "bad.txt:2:", 1);
  write("cyc.txt", "0 1\n1 2\n2 0\n");
  expect_rejected("generate --from-edges " + path("cyc.txt") + o, "cycle", 1);
  expect_rejected("generate --from-edges " + path("none.txt") + o, "none.txt", 1);
}

TEST_F(TheCli, RejectsMalformedArchitectureFiles) {
  ASSERT_EQ(run("generate -g ws -n 12 -o " + path("a.yaml")).code, 0);
  std::string text = slurp(path("a.yaml"));
  text.replace(text.find("stem_channels: 16"), 17, "stem_channels: -3");
  write("bad.yaml", text);
  expect_rejected("info " + path("bad.yaml"), "bad.yaml:", 1);
  write("junk.yaml", "{{{");
  expect_rejected("info " + path("junk.yaml"), "invalid YAML", 1);
}

TEST_F(TheCli, KeepsAnExistingOutputWhenANewRunFails) {
  ASSERT_EQ(run("generate -g ws -n 12 -o " + path("a.yaml")).code, 0);
  const std::string before = slurp(path("a.yaml"));
  EXPECT_NE(run("generate -g ws -n 12 -p k=5 -o " + path("a.yaml")).code, 0);
  EXPECT_EQ(slurp(path("a.yaml")), before);
}

TEST_F(TheCli, ScoresAnArchitectureAsJson) {
  ASSERT_EQ(run("generate -g dp -n 40 -s 2 -o " + path("a.yaml")).code, 0);
  const auto r = run("score " + path("a.yaml") + " --units 4 --json --dot " + path("p.dot"));
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["units"], 4);
  ASSERT_EQ(j["options"].size(), 3u);
  double min_cs = 1e300;
  for (const auto& o : j["options"]) {
    EXPECT_EQ(o["parts"].size(), 40u);
    for (const auto& p : o["parts"]) {
      EXPECT_GE(p.get<int>(), 0);
      EXPECT_LT(p.get<int>(), 4);
    }
    EXPECT_GE(o["imbalance"].get<double>(), 1.0);
    EXPECT_GT(o["predicted_latency_s"].get<double>(), 0.0);
    for (const char* key : {"epsilon", "comm_bytes", "comm_norm", "eta", "cs"})
      EXPECT_TRUE(o.contains(key)) << key;
    min_cs = std::min(min_cs, o["cs"].get<double>());
  }
  EXPECT_EQ(j["best"]["cs"].get<double>(), min_cs);
  EXPECT_EQ(j["options"][0]["epsilon"].get<double>(), 1.03);
  EXPECT_NE(slurp(path("p.dot")).find("fillcolor=\"#"), std::string::npos);
  // Same seed, same bytes.
  EXPECT_EQ(run("score " + path("a.yaml") + " --units 4 --json").out, r.out);
}

TEST_F(TheCli, ExportsTheHypergraphAndScoresAPartitionReadBack) {
  ASSERT_EQ(run("generate -g ws -n 20 -s 1 -o " + path("a.yaml")).code, 0);
  const auto r = run("score " + path("a.yaml") + " --units 2 --epsilon 1.1 --json --hgr " + path("a.hgr"));
  ASSERT_EQ(r.code, 0) << r.err;
  const auto hgr = slurp(path("a.hgr"));
  EXPECT_NE(hgr.find(" 22 11\n"), std::string::npos) << hgr.substr(0, 200);
  EXPECT_EQ(slurp(path("a.hgr.fix")).size(), 20 * 3 + 4u);  // "-1\n" x 20, "0\n" x 2
  // Write the chosen partition in hMETIS form and score it again: same figures.
  const auto j = nlohmann::json::parse(r.out);
  std::string parts;
  for (const auto& p : j["best"]["parts"]) parts += std::to_string(p.get<int>()) + "\n";
  write("parts.txt", parts + "0\n0\n");
  const auto again = run("score " + path("a.yaml") + " --units 2 --json --partition-in " + path("parts.txt"));
  ASSERT_EQ(again.code, 0) << again.err;
  const auto k = nlohmann::json::parse(again.out);
  EXPECT_EQ(k["best"]["comm_bytes"], j["best"]["comm_bytes"]);
  EXPECT_EQ(k["best"]["cs"], j["best"]["cs"]);
  EXPECT_TRUE(k["best"]["epsilon"].is_null());
}

TEST_F(TheCli, ReadsADeviceFile) {
  ASSERT_EQ(run("generate -g dp -n 20 -o " + path("a.yaml")).code, 0);
  write("dev.yaml", "devices:\n  - {flops_per_s: 1e9}\n  - {flops_per_s: 1e9}\n"
                    "link: {latency_s: 0.5, bandwidth_bytes_per_s: 1e6}\n");
  const auto r = run("score " + path("a.yaml") + " --units 2 --json --devices " + path("dev.yaml"));
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["link"]["latency_s"], 0.5);
  // A half-second link dwarfs the compute: far slower than one device.
  EXPECT_LT(j["best"]["predicted_speedup"].get<double>(), 0.5);
}

TEST_F(TheCli, RejectsBadScoreInput) {
  ASSERT_EQ(run("generate -g dp -n 10 -o " + path("a.yaml")).code, 0);
  const std::string a = "score " + path("a.yaml");
  expect_rejected(a + " --units 0", "units must be at least 1");
  expect_rejected(a + " --units 11", "more than the 10 compute vertices");
  expect_rejected(a + " --units 2 --epsilon 0.9", "epsilon must be at least 1");
  expect_rejected(a + " --units 2 --epsilon 1.1,abc", "--epsilon");
  expect_rejected(a + " --units 2 --partitioner hmetis", "unknown partitioner 'hmetis'");
  expect_rejected(a + " --units 2 --link-bandwidth 0", "bandwidth");
  write("short.txt", "0\n1\n");
  expect_rejected(a + " --units 2 --partition-in " + path("short.txt"), "has 2 unit ids", 1);
  write("range.txt", "0\n1\n5\n0\n0\n0\n0\n0\n0\n0\n");
  expect_rejected(a + " --units 2 --partition-in " + path("range.txt"), "range.txt:3: unit 5", 1);
  write("pin.txt", "0\n0\n0\n0\n0\n0\n0\n0\n0\n0\n1\n0\n");
  expect_rejected(a + " --units 2 --partition-in " + path("pin.txt"), "pinned to unit 0", 1);
  write("dev.yaml", "devices:\n  - {flops_per_s: 1e9}\n");
  expect_rejected(a + " --units 2 --devices " + path("dev.yaml"), "dev.yaml:2:", 1);
  expect_rejected("score " + path("missing.yaml") + " --units 2", "missing.yaml", 1);
  expect_rejected(a + " --units 2 --layer-overhead -1", "--layer-overhead", 2);
  expect_rejected(a + " --units 2 --send-overhead 1e-4 --devices " + path("dev.yaml"), "excludes", 2);
}

// A tiny synthetic run: seconds on one thread.
std::string tiny_train_sets() {
  return " --set data.dataset=synthetic --set data.validation=64 --set data.synthetic_train=256"
         " --set arch.nodes=6 --set arch.stem_channels=8 --set arch.channel_limit=16"
         " --set arch.min_resolution=2 --set train.epochs=2 --set train.batch_size=32"
         " --set train.threads=1";
}

TEST_F(TheCli, GeneratesLcpNetworksAsVersion2Files) {
  const auto g = run("generate --generator lcp --param branches=2 --param depth=5 --param width=1.5 -o " + path("l.yaml"));
  ASSERT_EQ(g.code, 0) << g.err;
  EXPECT_NE(slurp(path("l.yaml")).find("version: 2\n"), std::string::npos);
  const auto j = nlohmann::json::parse(run("info --json " + path("l.yaml")).out);
  EXPECT_EQ(j["vertices"], 10);
  EXPECT_EQ(j["components"], 2);
  EXPECT_EQ(j["format_version"], 2);
  EXPECT_EQ(j["output_merge"], "concat");
  EXPECT_EQ(j["per_vertex"][0]["width"], 0.75);
  EXPECT_NE(run("info " + path("l.yaml")).out.find("1 concatenating vertices, 10 with a width of their own"),
            std::string::npos);
  expect_rejected("generate --generator lcp --param branches=2 --param depth=5 --nodes 12 -o " + path("out.yaml"),
                  "2 branches of depth 5 are 10 vertices, not the 12 asked for");
  expect_rejected("generate --generator lcp --param k=2 --nodes 10 -o " + path("out.yaml"), "unknown parameter 'k'");
}

TEST_F(TheCli, WidensLcpNetworksUntilTheyMatchTheChain) {
  write("l.yaml", "lcp:\n  branches: [2]\n  width_start: 0.5\n  width_step: 0.5\n  width_max: 1\n  tolerance: 100\n");
  const auto r = run("lcp --config " + path("l.yaml") + tiny_train_sets() + " --out " + path("lcp"));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("K=2: width 0.5,"), std::string::npos) << r.out;  // any accuracy is within 100 points
  const auto j = nlohmann::json::parse(slurp(path("lcp/lcp.json")));
  ASSERT_EQ(j["tried"].size(), 1u);
  EXPECT_EQ(j["picked"][0]["branches"], 2);
  EXPECT_TRUE(fs::exists(path("lcp/chain/eval.json")));
  EXPECT_TRUE(fs::exists(path("lcp/lcp-k2-w0.5/eval.json")));
  EXPECT_LT(j["picked"][0]["params"].get<long>(), j["chain"]["params"].get<long>());
  // No tolerance: the widths are tried in order until one is within it, or all are.
  write("m.yaml", "lcp:\n  branches: [2]\n  width_start: 0.25\n  width_step: 0.25\n  width_max: 0.5\n  tolerance: 0\n");
  const auto all = run("lcp --config " + path("m.yaml") + tiny_train_sets() + " --set data.synthetic_classes=4 --out " +
                       path("lcp2"));
  ASSERT_EQ(all.code, 0) << all.err;
  const auto k = nlohmann::json::parse(slurp(path("lcp2/lcp.json")));
  const auto& tried = k["tried"];
  ASSERT_GE(tried.size(), 1u);
  for (std::size_t i = 0; i + 1 < tried.size(); ++i) EXPECT_FALSE(tried[i]["within_tolerance"].get<bool>());
  EXPECT_TRUE(tried.back()["within_tolerance"].get<bool>() || tried.size() == 2u);
  EXPECT_EQ(tried[0]["width"], 0.25);
  EXPECT_EQ(k["picked"][0]["name"], tried.back()["name"]);
  write("bad.yaml", "lcp:\n  width_start: 2\n  width_max: 1\n");
  expect_rejected("lcp --config " + path("bad.yaml"), "bad.yaml:3: lcp.width_max: 1 is below width_start 2", 1);
  // Data that cannot be read: refused, and no output folder left behind.
  const auto missing = run("lcp --config " + path("l.yaml") + " --set data.dataset=mnist --set data.path=" +
                           path("nowhere") + " --out " + path("gone"));
  EXPECT_EQ(missing.code, 1) << missing.err;
  EXPECT_NE(missing.err.find("not found"), std::string::npos) << missing.err;
  EXPECT_FALSE(fs::exists(path("gone")));
  write("bad2.yaml", "lcp:\n  branches: [0]\n");
  expect_rejected("lcp --config " + path("bad2.yaml"), "bad2.yaml:2: lcp.branches: 0 must be at least 1", 1);
}

TEST_F(TheCli, TrainsIntoARunFolderAndResumes) {
  write("c.yaml", "train:\n  lr: 0.05\n");
  const auto r = run("train --config " + path("c.yaml") + tiny_train_sets() + " --out " + path("run"));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("test accuracy"), std::string::npos);
  const auto eval = nlohmann::json::parse(slurp(path("run/eval.json")));
  EXPECT_GE(eval["test_accuracy"].get<double>(), 0.0);
  EXPECT_LE(eval["test_accuracy"].get<double>(), 1.0);
  EXPECT_NE(slurp(path("run/config.yaml")).find("  lr: 0.05\n"), std::string::npos);
  EXPECT_NE(slurp(path("run/config.yaml")).find("  epochs: 2\n"), std::string::npos);
  // The same folder again needs --resume; with it, the finished run just re-evaluates.
  const auto again = run("train --config " + path("c.yaml") + tiny_train_sets() + " --out " + path("run"));
  EXPECT_EQ(again.code, 2);
  EXPECT_NE(again.err.find("--resume"), std::string::npos) << again.err;
  const auto resumed = run("train --config " + path("c.yaml") + tiny_train_sets() + " --out " +
                           path("run") + " --resume");
  EXPECT_EQ(resumed.code, 0) << resumed.err;
  EXPECT_EQ(nlohmann::json::parse(slurp(path("run/eval.json")))["test_accuracy"], eval["test_accuracy"]);
}

TEST_F(TheCli, RejectsBadTrainingInput) {
  write("c.yaml", "train:\n  epochs: 2\n  epochz: 3\n");
  expect_rejected("train --config " + path("c.yaml"), "c.yaml:3: unknown key 'train.epochz'", 1);
  write("ok.yaml", "train:\n  epochs: 2\n");
  expect_rejected("train --config " + path("ok.yaml") + " --set train.epochs=zero", "--set train.epochs");
  expect_rejected("train --config " + path("ok.yaml") + " --set train.epoch=3", "--set train.epoch: unknown key");
  expect_rejected("train --config " + path("ok.yaml") + " --set data.dataset=mnist --set data.path=" +
                      path("no_mnist") + " --out " + path("r"),
                  "no_mnist/train-images-idx3-ubyte", 1);
  expect_rejected("train --config " + path("missing.yaml"), "missing.yaml", 1);
  ASSERT_EQ(run("generate -g dp -n 8 -o " + path("a.yaml")).code, 0);
  expect_rejected("train --config " + path("ok.yaml") + tiny_train_sets() + " --arch " + path("a.yaml") +
                      " --out " + path("r2"),
                  "takes 1x28x28 images", 2);
}

// A search small enough for a test: synthetic data, 10-vertex candidates.
const char* kTinySearch = R"(search:
  candidates: 4
  units: 3
  select: 2
  rungs: [{train_subset: 64, epochs: 1}, {train_subset: 0, epochs: EPOCHS}]
space:
  generators: {dp: {}, ws: {k: {choices: [2, 4]}}}
  nodes: [10]
  stem_channels: [8]
  channel_limit: [16]
  baseline_nodes: 15
  baseline_stem_channels: 8
  baseline_channel_limit: 32
data: {dataset: synthetic, validation: 32, synthetic_train: TRAIN, synthetic_test: 48}
train: {batch_size: 32, threads: 1}
)";

std::string tiny_search(int train, int epochs) {
  std::string s = kTinySearch;
  s.replace(s.find("TRAIN"), 5, std::to_string(train));
  s.replace(s.find("EPOCHS"), 6, std::to_string(epochs));
  return s;
}

TEST_F(TheCli, SearchesEndToEndAndReportsEachStage) {
  write("s.yaml", tiny_search(160, 1));
  const auto r = run("search --config " + path("s.yaml") + " --out " + path("run"));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("6 candidates scored"), std::string::npos) << r.out;
  // Not a terminal: plain progress lines per stage.
  EXPECT_NE(r.err.find("[score] 6/6"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("[train rung 2/2]"), std::string::npos) << r.err;
  for (const char* f : {"report.html", "pareto.csv", "candidates.jsonl", "trials.jsonl", "summary.json"})
    EXPECT_TRUE(fs::exists(path("run/") + f)) << f;
  // Same folder without --resume: refused, nothing touched.
  const auto before = slurp(path("run/trials.jsonl"));
  const auto again = run("search --config " + path("s.yaml") + " --out " + path("run"));
  EXPECT_EQ(again.code, 2);
  EXPECT_NE(again.err.find("--resume"), std::string::npos) << again.err;
  EXPECT_EQ(slurp(path("run/trials.jsonl")), before);
}

TEST_F(TheCli, CalibratesThisMachineThenDeploysAndMeasuresThePick) {
  std::string config = tiny_search(160, 1);
  config.replace(config.find("units: 3"), 8, "units: 2\n  calibrate: true");
  write("s.yaml", config);
  const auto r = run("search --config " + path("s.yaml") + " --out " + path("run"));
  ASSERT_EQ(r.code, 0) << r.err;
  // The devices file it measured, with the link of 2 local workers, is what it predicted for.
  const auto devices = slurp(path("run/devices.yaml"));
  EXPECT_NE(devices.find("ops: {step_s: "), std::string::npos) << devices;
  EXPECT_NE(devices.find("link: {latency_s: "), std::string::npos) << devices;
  const auto summary = nlohmann::json::parse(slurp(path("run/summary.json")));
  ASSERT_TRUE(summary.contains("deployed")) << summary.dump();
  const auto& d = summary["deployed"];
  EXPECT_EQ(d["error"], "") << d.dump();
  EXPECT_EQ(d["units"], 2);
  EXPECT_GT(d["predicted_ms"].get<double>(), 0.0);
  EXPECT_GT(d["measured_ms"].get<double>(), 0.0);
  EXPECT_TRUE(fs::exists(d["folder"].get<std::string>() + "/plan.yaml"));
  EXPECT_NE(slurp(path("run/report.html")).find("Deployed pick"), std::string::npos);
  // Resumed: the measured file is kept, so the scores are those of the first part.
  EXPECT_EQ(run("search --config " + path("s.yaml") + " --out " + path("run") + " --resume").code, 0);
  EXPECT_EQ(slurp(path("run/devices.yaml")), devices);
}

TEST_F(TheCli, StopsASearchOnCtrlCAndResumesIt) {
  write("s.yaml", tiny_search(3000, 3));
  const std::string args = "search --config " + path("s.yaml") + " --out " + path("run");
  // In the background, interrupted after 2 s as by Ctrl-C; the shell returns its status.
  const std::string err = path("stopped.txt");
  const int status = std::system((std::string(CONCNAS_CLI) + " " + args + " >/dev/null 2>" + err +
                                  " & pid=$!; sleep 2; kill -INT $pid; wait $pid")
                                     .c_str());
  const std::string stopped = slurp(err);
  EXPECT_EQ(WIFEXITED(status) ? WEXITSTATUS(status) : -1, 130) << stopped;
  EXPECT_NE(stopped.find("concnas: error: interrupted"), std::string::npos) << stopped;
  EXPECT_NE(stopped.find("--resume"), std::string::npos) << stopped;
  EXPECT_TRUE(fs::exists(path("run/candidates.jsonl")));
  const auto resumed = run(args + " --resume");
  ASSERT_EQ(resumed.code, 0) << resumed.err;
  EXPECT_TRUE(fs::exists(path("run/report.html")));
}

TEST_F(TheCli, StopsCleanlyOnSigtermWhileScoring) {
  // METIS used to point SIGTERM at its own handler during each call, and a SIGTERM taken
  // by another thread then crashed the search (1 run in 3 before the fix: 8 runs miss it
  // with probability 4%). Each run here is stopped while 40-vertex candidates are being
  // scored, so most signals land during a METIS call on some thread. `timeout` (which
  // passes the SIGTERM on) kills a run that ignores it.
  std::string config = kTinySearch;
  config.replace(config.find("candidates: 4"), 13, "candidates: 100000");
  config.replace(config.find("nodes: [10]"), 11, "nodes: [40]");
  config.replace(config.find("TRAIN"), 5, "160");
  config.replace(config.find("EPOCHS"), 6, "1");
  write("s.yaml", config);
  for (int i = 0; i < 8; ++i) {
    const std::string out = path("run" + std::to_string(i));
    const std::string err = path("stopped" + std::to_string(i) + ".txt");
    const std::string script =
        "timeout -s KILL 120 " + std::string(CONCNAS_CLI) + " search --config " + path("s.yaml") +
        " --out " + out + " >/dev/null 2>" + err + " & pid=$!; while kill -0 $pid 2>/dev/null && [ ! -s " +
        out + "/candidates.jsonl ]; do sleep 0.02; done; sleep 0.2; kill -TERM $pid; wait $pid";
    const int status = std::system(script.c_str());
    const std::string stopped = slurp(err);
    ASSERT_EQ(WIFEXITED(status) ? WEXITSTATUS(status) : -1, 130) << "run " << i << ": " << stopped;
    EXPECT_NE(stopped.find("concnas: error: interrupted"), std::string::npos) << stopped;
  }
}

TEST_F(TheCli, RejectsBadSearchInputBeforeAnyWork) {
  write("s.yaml", "search:\n  units: 4\n  unitz: 3\n");
  expect_rejected("search --config " + path("s.yaml") + " --out " + path("r"), "s.yaml:3: unknown key 'search.unitz'", 1);
  EXPECT_FALSE(fs::exists(path("r")));
  write("ok.yaml", tiny_search(160, 1));
  expect_rejected("search --config " + path("ok.yaml") + " --set search.units=one --out " + path("r"),
                  "--set search.units: 'search.units' must be an integer");
  expect_rejected("search --config " + path("ok.yaml") + " --set search.units=1 --out " + path("r"),
                  "--set search.units: 1 must be at least 2");
  expect_rejected("search --config " + path("ok.yaml") + " --set data.dataset=mnist --set data.path=" +
                      path("no_mnist") + " --out " + path("r"),
                  "no_mnist/t10k-images-idx3-ubyte", 1);
  EXPECT_FALSE(fs::exists(path("r/candidates.jsonl")));
}

TEST_F(TheCli, ExportsATrainedNetworkPerUnit) {
  write("c.yaml", "train:\n  epochs: 1\n");
  ASSERT_EQ(run("train --config " + path("c.yaml") + tiny_train_sets() + " --out " + path("run")).code, 0);
  const std::string args = "export --arch " + path("run/arch.yaml") + " --weights " + path("run/weights.pt");
  const auto r = run(args + " --units 3 -o " + path("deploy"));
  ASSERT_EQ(r.code, 0) << r.err;
  for (const char* f : {"unit_0.pt", "unit_1.pt", "unit_2.pt", "plan.yaml", "parts.dot"})
    EXPECT_TRUE(fs::exists(path("deploy/") + f)) << f;
  EXPECT_NE(slurp(path("deploy/plan.yaml")).find("units: 3"), std::string::npos);
  // Weights of another architecture: one line, nothing written.
  ASSERT_EQ(run("generate -g ws -n 6 --input-shape 1x16x16 --classes 4 -o " + path("other.yaml")).code, 0);
  expect_rejected("export --arch " + path("other.yaml") + " --weights " + path("run/weights.pt") + " --units 2 -o " +
                      path("bad"),
                  "cannot load weights", 1);
  EXPECT_FALSE(fs::exists(path("bad")));
}

// A trained tiny network exported for `units` into deploy/, and the test set it was
// evaluated on written as IDX files into data/ (the synthetic set concnas train made).
class TheRunCommand : public TheCli {
 protected:
  void SetUp() override {
    TheCli::SetUp();
    write("c.yaml", "train:\n  epochs: 1\n");
    ASSERT_EQ(run("train --config " + path("c.yaml") + tiny_train_sets() + " --out " + path("run")).code, 0);
    const auto test = concnas::data::make_synthetic(128, 1, 16, 16, 4, /*train.seed + 1=*/1);
    concnas::data::write_mnist_format(test, test, path("data"), false);
  }
  void export_units(int units) {
    const auto r = run("export --arch " + path("run/arch.yaml") + " --weights " + path("run/weights.pt") +
                       " --units " + std::to_string(units) + " -o " + path("deploy"));
    ASSERT_EQ(r.code, 0) << r.err;
  }
  std::string input() const {
    return " --input " + path("data/t10k-images-idx3-ubyte") + " --labels " + path("data/t10k-labels-idx1-ubyte");
  }
  static int free_port() {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(a);
    bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
    getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    close(fd);
    return ntohs(a.sin_port);
  }
};

TEST_F(TheRunCommand, RunsTheUnitsAsLocalProcessesWithTheTrainedAccuracy) {
  const double trained = nlohmann::json::parse(slurp(path("run/eval.json")))["test_accuracy"].get<double>();
  export_units(3);
  const auto r = run("run --plan " + path("deploy") + " --local --all --batch 16 --check" + input() + " --json " +
                     path("r.json") + " --logits " + path("logits.csv") + " --trace " + path("trace.json"));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("3 units, batch 16"), std::string::npos) << r.out;
  // One trace for the three workers; their parts are gone.
  std::set<int> traced;
  const auto trace = nlohmann::json::parse(slurp(path("trace.json")));
  for (const auto& e : trace["traceEvents"])
    if (e["ph"] == "X" && e["cat"] == "compute") traced.insert(e["pid"].get<int>());
  EXPECT_EQ(traced, (std::set<int>{0, 1, 2}));
  EXPECT_FALSE(fs::exists(path("trace.json.rank1")));
  const auto j = nlohmann::json::parse(slurp(path("r.json")));
  EXPECT_EQ(j["units"], 3);
  EXPECT_EQ(j["images"], 128);
  // The engine's loops against the unit files' TorchScript: the same arithmetic but for
  // the order of sums (a wrong weight or input would be off by far more).
  EXPECT_LT(j["max_abs_diff"].get<double>(), 1e-5);
  // The normalisation recorded at export is the training one: the same accuracy.
  EXPECT_NEAR(j["accuracy"].get<double>(), trained, 1e-9);
  EXPECT_GT(j["latency_ms"]["p95"].get<double>(), 0);
  const auto csv = slurp(path("logits.csv"));
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 129);
  EXPECT_EQ(csv.rfind("image,label,logit0,logit1,logit2,logit3\n", 0), 0u);
}

// A separable network on one worker per group: the workers hand the transport exactly the
// bytes the plan says (the exchanged share of channels, fp16 where the policy says), and
// the logits are the single process's.
TEST_F(TheRunCommand, SendsASeparableNetworksExchangedShareAsPlanned) {
  for (const std::string fp16 : {"0", "1"}) {
    SCOPED_TRACE("fp16=" + fp16);
    ASSERT_EQ(run("generate --generator sep --param groups=4 --param depth=3 --param alpha=1 --param policy=" +
                  std::to_string(9 + 14 * 24) + " --param share=0.5 --param fp16=" + fp16 +
                  " --input-shape 1x16x16 --stem-channels 8 --channel-limit 32 --min-resolution 2 --classes 4 -o " +
                  path("sep.yaml")).code, 0);
    ASSERT_EQ(run("train --config " + path("c.yaml") + tiny_train_sets() + " --arch " + path("sep.yaml") +
                  " --out " + path("sep" + fp16)).code, 0);
    const std::string weights = " --weights " + path("sep" + fp16 + "/weights.pt");
    ASSERT_EQ(run("export --arch " + path("sep.yaml") + weights + " --units 4 --partitioner groups -o " +
                  path("sepd" + fp16)).code, 0);
    EXPECT_NE(slurp(path("sepd" + fp16 + "/plan.yaml")).find("parts: [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3, 0, 0]"),
              std::string::npos);
    expect_rejected("export --arch " + path("sep.yaml") + weights + " --units 3 --partitioner groups -o " +
                        path("bad"), "has 4 groups, one per unit: give --units 4", 2);
    const auto r = run("run --plan " + path("sepd" + fp16) + " --local --all --batch 8 --check" + input() +
                       " --json " + path("sep.json"));
    ASSERT_EQ(r.code, 0) << r.err;
    const auto j = nlohmann::json::parse(slurp(path("sep.json")));
    EXPECT_GT(j["bytes_per_image"].get<double>(), 0);
    EXPECT_EQ(j["measured_bytes_per_image"].get<double>(), j["bytes_per_image"].get<double>());
    EXPECT_LT(j["max_abs_diff"].get<double>(), fp16 == "0" ? 1e-4 : 1e-2);
  }
}

TEST_F(TheRunCommand, ReportsWhatADevicesFilePredictsBesideTheMeasurement) {
  export_units(2);
  write("dev.yaml", "device: {flops_per_s: 1e9, ops: {step_s: 1e-3}}\nlink: {latency_s: 1e-3}\n");
  const auto r = run("run --plan " + path("deploy") + " --local --runs 5 --warmup 1" + input() + " --devices " +
                     path("dev.yaml") + " --json " + path("p.json"));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("predicted by the devices file"), std::string::npos) << r.out;
  // A millisecond per step: the prediction is at least the steps of the longest unit.
  const double predicted = nlohmann::json::parse(slurp(path("p.json")))["predicted_ms"].get<double>();
  EXPECT_GT(predicted, 5.0);
  const auto fp16 = run("run --plan " + path("deploy") + " --local --runs 5 --warmup 1 --fp16" + input() +
                        " --devices " + path("dev.yaml") + " --json " + path("h.json"));
  ASSERT_EQ(fp16.code, 0) << fp16.err;
  EXPECT_LE(nlohmann::json::parse(slurp(path("h.json")))["predicted_ms"].get<double>(), predicted);
  expect_rejected("run --plan " + path("deploy") + " --local --runs 5" + input() + " --devices " + path("none.yaml"),
                  "none.yaml", 1);
  // Prices measured at one batch predict no other.
  write("dev8.yaml", "batch: 8\ndevice: {flops_per_s: 1e9, ops: {step_s: 1e-3}}\nlink: {latency_s: 1e-3}\n");
  expect_rejected("run --plan " + path("deploy") + " --local --runs 5" + input() + " --devices " + path("dev8.yaml"),
                  "predicts inferences of 8 images (its 'batch'), not --batch 1");
  const auto at8 = run("run --plan " + path("deploy") + " --local --runs 5 --batch 8" + input() + " --devices " +
                       path("dev8.yaml"));
  EXPECT_EQ(at8.code, 0) << at8.err;
}

TEST_F(TheRunCommand, HoldsAWorkerToItsCpuQuotaAsASlowerDevice) {
  export_units(2);
  const std::string args = "run --plan " + path("deploy") + " --local --runs 5" + input();
  expect_rejected(args + " --cpu-quota 0.5", "say which worker: UNIT=FRACTION");
  expect_rejected(args + " --cpu-quota 2=0.5", "'2=0.5': the unit must be one of 0..1");
  expect_rejected(args + " --cpu-quota 1=1.5", "'1=1.5': the fraction of a core's time");
  const auto why = concnas::CpuQuota::unavailable_reason();
  if (!why.empty()) {
    expect_rejected(args + " --cpu-quota 1=0.5", "no CPU quota can be set here");
    GTEST_SKIP() << "no CPU quota here: " << why;
  }
  const auto r = run(args + " --cpu-quota 1=0.5");
  ASSERT_EQ(r.code, 0) << r.err;
  const auto at = r.err.find("worker 1: held to 0.5 of 1 core (control group ");
  ASSERT_NE(at, std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("worker 0: held"), std::string::npos) << r.err;
  const auto start = r.err.find('/', at);
  const auto group = r.err.substr(start, r.err.find(')', start) - start);
  EXPECT_FALSE(fs::exists(group)) << group << " is left behind";
}

// --slowdown makes a worker's steps take FACTOR times as long: worker 1's compute time per
// inference grows about eightfold (by more than 3 here, whatever the host's drift).
TEST_F(TheRunCommand, SlowsAWorkerDownAsASlowerDevice) {
  export_units(2);
  const std::string args = "run --plan " + path("deploy") + " --local --runs 30 --warmup 2" + input();
  expect_rejected(args + " --slowdown 2", "say which worker: UNIT=FACTOR");
  expect_rejected(args + " --slowdown 3=2", "'3=2': the unit must be one of 0..1");
  expect_rejected(args + " --slowdown 1=0.5", "'1=0.5': the factor must be a number in [1, 100]");
  expect_rejected(args + " --slowdown 1=x", "'1=x': the factor must be a number in [1, 100]");
  auto worker1_ms = [&](const std::string& flags) {
    const auto r = run(args + flags + " --latencies " + path("slow.csv"));
    EXPECT_EQ(r.code, 0) << r.err;
    std::istringstream rows(slurp(path("slow.csv")));
    std::string line;
    std::getline(rows, line);
    EXPECT_EQ(line, "inference,ms,w0_compute_ms,w1_compute_ms");
    std::vector<double> ms;
    for (int i = 0; std::getline(rows, line); ++i) {
      double total = 0, w0 = 0, w1 = 0;
      EXPECT_EQ(std::sscanf(line.c_str(), "%*d,%lf,%lf,%lf", &total, &w0, &w1), 3) << line;
      ms.push_back(w1);
    }
    std::sort(ms.begin(), ms.end());
    return ms.empty() ? 0.0 : ms[ms.size() / 2];
  };
  const double plain = worker1_ms(""), slowed = worker1_ms(" --slowdown 1=8");
  EXPECT_GT(plain, 0);
  EXPECT_GT(slowed, 3 * plain) << plain << " ms at full speed";
}

// NN-Stretch on a chain of 8 over a device and one half as fast, with a link cheap enough
// that meetings pay: the pick is exported with a branch per unit and runs on two workers
// as the single process computes it.
TEST_F(TheRunCommand, StretchesAChainOverAFastAndASlowDevice) {
  ASSERT_EQ(run("generate --generator lcp --param branches=1 --param depth=8 --input-shape 1x16x16 "
                "--stem-channels 8 --channel-limit 16 --min-resolution 2 --classes 4 -o " + path("chain.yaml")).code, 0);
  write("hetero.yaml", "devices:\n  - {name: fast, flops_per_s: 1.0e8}\n  - {name: slow, flops_per_s: 0.5e8}\n"
                       "link: {latency_s: 1.0e-6, bandwidth_bytes_per_s: 1.0e10}\n");
  const std::string args = "stretch --arch " + path("chain.yaml") + " --config " + path("c.yaml") + tiny_train_sets() +
                           " --set train.epochs=1 --devices " + path("hetero.yaml") + " --out " + path("st");
  const auto r = run(args);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("after predicted:"), std::string::npos) << r.err;
  const auto j = nlohmann::json::parse(slurp(path("st/stretch.json")));
  ASSERT_GE(j["tried"].size(), 1u);
  EXPECT_EQ(j["tried"].size(), nlohmann::json::parse(slurp(path("st/space.json")))["candidates"].size());
  EXPECT_LT(j["picked"]["predicted_ms"].get<double>(), j["chain"]["predicted_ms"].get<double>());
  EXPECT_TRUE(fs::exists(path("st/chain/eval.json")));
  EXPECT_NE(slurp(path("st/deploy/plan.yaml")).find("units: 2"), std::string::npos);
  const auto ran = run("run --plan " + path("st/deploy") + " --local --all --check" + input() + " --json " +
                       path("s.json"));
  ASSERT_EQ(ran.code, 0) << ran.err;
  EXPECT_LT(nlohmann::json::parse(slurp(path("s.json")))["max_abs_diff"].get<double>(), 1e-5);
  // The devices file predicts the pick as the search did.
  const auto predicted = run("run --plan " + path("st/deploy") + " --local --runs 20" + input() + " --devices " +
                             path("hetero.yaml") + " --json " + path("p.json"));
  ASSERT_EQ(predicted.code, 0) << predicted.err;
  EXPECT_NEAR(nlohmann::json::parse(slurp(path("p.json")))["predicted_ms"].get<double>(),
              j["picked"]["predicted_ms"].get<double>(), 1e-6);
  // Resumed, every training is done already: the same pick.
  const auto again = run(args + " --resume");
  ASSERT_EQ(again.code, 0) << again.err;
  EXPECT_EQ(nlohmann::json::parse(slurp(path("st/stretch.json")))["picked"]["name"], j["picked"]["name"]);
  // This machine's runtime at batch 1: a message costs more than the chain computes.
  write("loopback.yaml", "device: {flops_per_s: 1.1e10}\nlink: {latency_s: 3.0e-5, send_overhead_s: 4.0e-5}\n");
  const auto none = run("stretch --arch " + path("chain.yaml") + " --config " + path("c.yaml") + tiny_train_sets() +
                        " --devices " + path("loopback.yaml") + " --out " + path("none"));
  EXPECT_EQ(none.code, 1) << none.err;
  EXPECT_NE(none.err.find("no way to stretch"), std::string::npos) << none.err;
  EXPECT_TRUE(fs::exists(path("none/space.json")));
}

TEST_F(TheRunCommand, TimesAOneUnitBaselineBesideTheDeployment) {
  export_units(2);
  const auto one = run("export --arch " + path("run/arch.yaml") + " --weights " + path("run/weights.pt") +
                       " --units 1 -o " + path("deploy1"));
  ASSERT_EQ(one.code, 0) << one.err;
  const auto cpus = allowed_cpus();
  const bool pin = cpus.size() >= 2;  // one core per worker
  const auto r = run("run --plan " + path("deploy") + " --local --runs 25 --warmup 2 --baseline " + path("deploy1") +
                     input() + " --json " + path("b.json") + " --latencies " + path("lat.csv") + " --trace " +
                     path("trace.json") + (pin ? " --pin" : ""));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("speedup"), std::string::npos) << r.out;
  const auto j = nlohmann::json::parse(slurp(path("b.json")));
  // Pinned, worker 0 (and the baseline in its process) ran on the first CPU alone.
  EXPECT_EQ(j["worker0_cpus"].get<std::vector<int>>(), pin ? std::vector<int>{cpus[0]} : cpus);
  if (pin) {
    const std::string where =
        "pinned worker 0 on CPU " + std::to_string(cpus[0]) + ", worker 1 on CPU " + std::to_string(cpus[1]);
    EXPECT_NE(r.err.find(where), std::string::npos) << r.err;
  }
  // Each worker's compute time per inference, from its trace: the calls of inference
  // `warmup + i` (workers count the 2 untimed ones).
  std::map<std::pair<int, int>, double> traced_ms;
  const auto trace = nlohmann::json::parse(slurp(path("trace.json")));
  for (const auto& e : trace["traceEvents"])
    if (e.value("cat", "") == "compute")
      traced_ms[{e["pid"].get<int>(), e["args"]["inference"].get<int>()}] += e["dur"].get<double>() / 1e3;
  const auto& b = j["baseline"];
  // One row per timed inference; the medians of its columns are the report's p50s, and the
  // order of the two within a block alternates every 10 inferences.
  std::istringstream lat(slurp(path("lat.csv")));
  std::string line;
  std::getline(lat, line);
  EXPECT_EQ(line, "inference,ms,baseline_ms,baseline_first,baseline_compute_ms,w0_compute_ms,w1_compute_ms");
  std::vector<double> dep_ms, base_ms;
  for (int i = 0; std::getline(lat, line); ++i) {
    int at = -1, first = -1;
    double a = 0, c = 0, bc = 0, w0 = 0, w1 = 0;
    ASSERT_EQ(std::sscanf(line.c_str(), "%d,%lf,%lf,%d,%lf,%lf,%lf", &at, &a, &c, &first, &bc, &w0, &w1), 7) << line;
    EXPECT_EQ(at, i);
    EXPECT_EQ(first, (i / 10) % 2);
    EXPECT_GT(bc, 0) << line;
    EXPECT_LE(bc, c) << line;  // the baseline computes within its own inference
    EXPECT_LE(w0, a) << line;
    EXPECT_NEAR(w0, (traced_ms[{0, i + 2}]), 1e-5) << line;
    EXPECT_NEAR(w1, (traced_ms[{1, i + 2}]), 1e-5) << line;
    EXPECT_GT(w1, 0) << line;
    dep_ms.push_back(a);
    base_ms.push_back(c);
  }
  // The launcher merged the workers' files and removed them.
  EXPECT_FALSE(fs::exists(path("lat.csv.rank0")));
  EXPECT_FALSE(fs::exists(path("lat.csv.rank1")));
  ASSERT_EQ(dep_ms.size(), 25u);
  for (auto* v : {&dep_ms, &base_ms}) std::sort(v->begin(), v->end());
  EXPECT_NEAR(dep_ms[12], j["latency_ms"]["p50"].get<double>(), 1e-5);
  EXPECT_NEAR(base_ms[12], b["latency_ms"]["p50"].get<double>(), 1e-5);
  EXPECT_GT(b["latency_ms"]["p50"].get<double>(), 0);
  EXPECT_NEAR(b["speedup_p50"].get<double>(),
              b["latency_ms"]["p50"].get<double>() / j["latency_ms"]["p50"].get<double>(), 1e-9);
  EXPECT_GT(b["paired_speedup_median"].get<double>(), 0);
  EXPECT_LT(b["max_abs_diff"].get<double>(), 1e-4);  // the same network: only the order of sums differs
  // One unit, no baseline: worker 0's column alone, written directly.
  const auto solo = run("run --plan " + path("deploy1") + " --local --runs 3 --warmup 1" + input() + " --latencies " +
                        path("solo.csv") + " --json " + path("solo.json"));
  ASSERT_EQ(solo.code, 0) << solo.err;
  const auto rows = slurp(path("solo.csv"));
  EXPECT_EQ(rows.rfind("inference,ms,w0_compute_ms\n", 0), 0u) << rows;
  EXPECT_EQ(std::count(rows.begin(), rows.end(), '\n'), 4) << rows;
  EXPECT_EQ(nlohmann::json::parse(slurp(path("solo.json")))["worker0_cpus"].get<std::vector<int>>(), cpus);
  // A baseline that is not one unit of the same network is refused before any worker starts.
  const auto two = run("run --plan " + path("deploy1") + " --local --runs 5 --baseline " + path("deploy") + input());
  EXPECT_EQ(two.code, 2);  // a bad argument
  EXPECT_NE(two.err.find("has 2 units"), std::string::npos) << two.err;
  EXPECT_EQ(std::count(two.err.begin(), two.err.end(), '\n'), 1) << two.err;
}

TEST_F(TheRunCommand, StopsTheOtherWorkerWhenOneIsKilled) {
  export_units(2);
  const std::string plan = " --plan " + path("deploy") + " --world 2 --timeout 20 --master 127.0.0.1:" +
                           std::to_string(free_port());
  const std::string script = "CLI=" + std::string(CONCNAS_CLI) + "; $CLI run" + plan + " --rank 1 2>" +
                             path("r1.err") + " & p1=$!; $CLI run" + plan + " --rank 0 --runs 100000000" + input() +
                             " >" + path("r0.out") + " 2>" + path("r0.err") + " & p0=$!; sleep 3; kill -9 $p1; " +
                             "wait $p0; echo $? >" + path("code0");
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_EQ(std::system(("bash -c '" + script + "'").c_str()), 0);
  const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(slurp(path("code0")), "1\n");
  const auto err = slurp(path("r0.err"));
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
  EXPECT_NE(err.find("concnas: error: worker 0:"), std::string::npos) << err;
  EXPECT_NE(err.find("worker 1"), std::string::npos) << err;
  EXPECT_LT(took, 3 + 15.0) << "worker 0 took too long to notice";  // a dropped connection is seen at once
}

TEST_F(TheRunCommand, RejectsAMalformedPlanAndAWrongWorld) {
  export_units(2);
  expect_rejected("run --plan " + path("deploy") + " --rank 0 --world 3 --master 127.0.0.1:1234" + input(),
                  "--world 3 does not match");
  expect_rejected("run --plan " + path("nowhere") + " --local", "nowhere/plan.yaml does not exist", 1);
  expect_rejected("run --plan " + path("deploy") + " --local --master 127.0.0.1:1", "excludes", 2);
  expect_rejected("run --plan " + path("deploy") + " --local --trace " + path("no/such/t.json"), "does not exist", 2);
  expect_rejected("run --plan " + path("deploy") + " --local --latencies " + path("no/such/l.csv"),
                  "--latencies " + path("no/such/l.csv") + ": the folder", 2);
  // Pinning: a list of CPUs this process may use, for one worker; --local pins its own.
  const std::string rank0 = "run --plan " + path("deploy") + " --rank 0 --world 2 --master 127.0.0.1:1" + input();
  expect_rejected(rank0 + " --cpus 1-a", "--cpus '1-a': not a list of CPUs like 0,2-3");
  expect_rejected(rank0 + " --cpus 3-1", "--cpus '3-1': not a list");
  expect_rejected(rank0 + " --cpus 99999", "--cpus '99999': CPU 99999 is not one this process may run on");
  expect_rejected(rank0 + " --cpus ''", "--cpus '': not a list");
  expect_rejected(rank0 + " --cpus 0,", "--cpus '0,': not a list");
  expect_rejected("run --plan " + path("deploy") + " --local --cpus 0", "excludes", 2);
  expect_rejected(rank0 + " --pin", "--pin requires --local", 2);
  // Cores: every CPU this process may use for each of two pinned workers is too many; one
  // more than it may use is refused for any worker.
  const auto n = std::to_string(allowed_cpus().size());
  const auto twice = std::to_string(2 * allowed_cpus().size());
  const auto more = std::to_string(allowed_cpus().size() + 1);
  expect_rejected("run --plan " + path("deploy") + " --local --pin --cores " + n + input(),
                  "--pin: 2 workers x " + n + " cores need " + twice + " CPUs");
  expect_rejected("run --plan " + path("deploy") + " --local --cores " + more + input(),
                  "--cores " + more + ": this machine lets this process use " + n + " CPU");
  expect_rejected("run --plan " + path("deploy") + " --local --cores 0" + input(), "--cores", 2);
  auto text = slurp(path("deploy/plan.yaml"));
  // A plan of an older export: its unit files hold other tensors.
  auto old = text;
  old.replace(old.find("version: 4"), 10, "version: 3");
  write("deploy/plan.yaml", old);
  expect_rejected("run --plan " + path("deploy") + " --local" + input(),
                  "plan.yaml:2: plan version 3: this build reads version 4 only", 1);
  text.replace(text.find("units: 2"), 8, "units: two");
  write("deploy/plan.yaml", text);
  expect_rejected("run --plan " + path("deploy") + " --local" + input(), "plan.yaml:6: 'units' must be an integer",
                  1);
}

// `concnas policy` on synthetic data: 2 groups of 3 blocks, 2 exchange steps (4 policies).
std::string tiny_policy_sets() {
  return tiny_train_sets() + " --set train.epochs=1 --set policy.groups=2 --set policy.depth=3 --set policy.alpha=1"
                             " --set policy.samples=3 --set policy.seeds=2 --set policy.controller_batch=2"
                             " --set policy.bn_batches=2 --set policy.finetune_epochs=1 --set policy.eval_images=32"
                             " --set policy.finalists=2";
}

TEST_F(TheCli, SearchesCommunicationPoliciesAndResumesAKilledSearch) {
  write("p.yaml", "policy:\n  share: 0.5\n  penalty: 0.1\n");
  const auto r = run("policy --config " + path("p.yaml") + tiny_policy_sets() + " --out " + path("pol"));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("seed 1: best reward random"), std::string::npos) << r.out;
  const std::string log = slurp(path("pol/policies.jsonl"));
  std::vector<nlohmann::json> rows;
  for (std::istringstream in(log); !in.eof();) {
    std::string line;
    if (std::getline(in, line) && !line.empty()) rows.push_back(nlohmann::json::parse(line));
  }
  // 2 seeds x (random, controller) x (3 samples on 32 images, then the 2 best distinct
  // policies of them on all 64)
  std::map<std::string, std::set<std::vector<int>>> distinct;
  std::map<std::string, int> samples, finalists;
  for (const auto& row : rows) {
    const auto key = row["search"].get<std::string>() + std::to_string(row["seed"].get<int>());
    if (row["final"].get<bool>()) {
      ++finalists[key];
    } else {
      ++samples[key];
      distinct[key].insert(row["permutations"].get<std::vector<int>>());
    }
  }
  ASSERT_EQ(samples.size(), 4u);
  for (const auto& [key, n] : samples) {
    EXPECT_EQ(n, 3) << key;
    EXPECT_EQ(finalists[key], std::min<int>(2, static_cast<int>(distinct[key].size()))) << key;
  }
  for (const auto& row : rows) {
    EXPECT_EQ(row["images"], row["final"].get<bool>() ? 64 : 32) << row;
    const auto perms = row["permutations"].get<std::vector<int>>();
    const bool sends = perms != std::vector<int>{0, 0};
    EXPECT_EQ(row["exchange_bytes"].get<long>() > 0, sends) << row;
    EXPECT_LE(row["traffic"].get<double>(), 0.5 + 1e-9) << row;  // half the channels, one receiver per group
    EXPECT_NEAR(row["reward"].get<double>(), row["val_accuracy"].get<double>() - 0.1 * row["traffic"].get<double>(),
                1e-12);
  }
  const auto j = nlohmann::json::parse(slurp(path("pol/policy.json")));
  ASSERT_EQ(j["picks"].size(), 2u);
  ASSERT_EQ(j["baselines"].size(), 2u);
  EXPECT_EQ(j["baselines"][0]["traffic"], 1.0);  // full exchange is the yardstick
  EXPECT_EQ(j["baselines"][1]["exchange_bytes"], 0);
  EXPECT_NEAR(j["picks"][0]["traffic_fp16"].get<double>(), j["picks"][0]["traffic"].get<double>() / 2, 1e-12);
  for (const auto* dir : {"finetune-controller", "finetune-random", "full", "none", "shared"})
    EXPECT_TRUE(fs::exists(path("pol/") + dir + "/eval.json")) << dir;
  EXPECT_TRUE(fs::exists(path("pol/best.yaml")));
  EXPECT_NE(slurp(path("pol/report.html")).find("<svg"), std::string::npos);

  // Killed while scoring the eighth policy (the controller's third: one update from two
  // logged rewards before it), before fine-tuning: the resumed run replays the seven logged
  // scores and ends with the same files.
  const std::string policy_json = slurp(path("pol/policy.json"));
  std::vector<std::string> lines;
  for (std::istringstream in(log); !in.eof();) {
    std::string line;
    if (std::getline(in, line) && !line.empty()) lines.push_back(line + "\n");
  }
  ASSERT_EQ(nlohmann::json::parse(lines[6])["search"], "controller");
  auto first = [&](std::size_t n) {
    std::string text;
    for (std::size_t i = 0; i < n; ++i) text += lines[i];
    return text;
  };
  write("pol/policies.jsonl", first(7) + "{\"search\":\"contr");
  for (const auto* dir : {"finetune-controller", "finetune-random", "full", "none"}) fs::remove_all(path("pol/") + dir);
  fs::remove(path("pol/policy.json"));
  const auto resumed = run("policy --config " + path("p.yaml") + tiny_policy_sets() + " --out " + path("pol") +
                           " --resume");
  ASSERT_EQ(resumed.code, 0) << resumed.err;
  EXPECT_EQ(slurp(path("pol/policies.jsonl")), log);
  EXPECT_EQ(slurp(path("pol/policy.json")), policy_json);
  // A log that is not this search's: refused, naming the line.
  auto other = nlohmann::json::parse(lines[1]);
  other["permutations"] = std::vector<int>{1, 1} == other["permutations"].get<std::vector<int>>()
                              ? std::vector<int>{0, 0} : std::vector<int>{1, 1};
  write("pol/policies.jsonl", lines[0] + other.dump() + "\n");
  const auto refused = run("policy --config " + path("p.yaml") + tiny_policy_sets() + " --out " + path("pol") +
                           " --resume");
  EXPECT_EQ(refused.code, 1);
  EXPECT_NE(refused.err.find("concnas: error: " + path("pol/policies.jsonl") + ":2: logged random seed 0 sample 1"),
            std::string::npos) << refused.err;
  EXPECT_EQ(slurp(path("pol/policies.jsonl")), lines[0] + other.dump() + "\n");  // left as it was

  expect_rejected("policy --config " + path("p.yaml") + tiny_policy_sets() + " --out " + path("pol"),
                  "holds a policy search");
  expect_rejected("policy --config " + path("p.yaml") + tiny_policy_sets() + " --set policy.samples=4 --out " +
                      path("pol") + " --resume", "another config");
  write("bad.yaml", "policy:\n  groups: 2\n  alpha: 0\n");
  expect_rejected("policy --config " + path("bad.yaml") + " --out " + path("bad"), "bad.yaml:3: policy.alpha", 1);
  EXPECT_FALSE(fs::exists(path("bad")));
  // Data that cannot be read: refused, and no output folder left behind.
  const auto missing = run("policy --config " + path("p.yaml") + " --set data.dataset=mnist --set data.path=" +
                           path("nowhere") + " --out " + path("gone"));
  EXPECT_EQ(missing.code, 1) << missing.err;
  EXPECT_NE(missing.err.find("not found"), std::string::npos) << missing.err;
  EXPECT_FALSE(fs::exists(path("gone")));
}

}  // namespace
