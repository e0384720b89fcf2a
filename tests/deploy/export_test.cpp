#include "concnas/deploy/export.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <set>

#include "concnas/arch/cost.h"
#include "concnas/common/rng.h"
#include "concnas/partition/hypergraph.h"
#include "concnas/sim/latency.h"
#include "support/deploy_network.h"
#include "support/version2_network.h"
#include "support/temp_dir.h"

namespace concnas::deploy {
namespace {

using testing::random_parts;

arch::Architecture test_architecture(arch::Aggregation aggregation) { return testing::deploy_architecture(aggregation); }
nn::Network randomised(const arch::Architecture& a) { return testing::randomised_network(a); }

class ADeployment : public testing::TempDirTest {};

TEST_F(ADeployment, GivesTheSingleModelsLogitsOnOneToFourUnits) {
  for (auto aggregation : {arch::Aggregation::kRandWire, arch::Aggregation::kSigmoidInputs})
  for (bool v2 : {false, true}) {
    const auto a = v2 ? testing::with_version2_design(test_architecture(aggregation)) : test_architecture(aggregation);
    auto net = randomised(a);
    const auto images = torch::randn({5, 1, 12, 12});
    const auto expected = net->forward(images);
    for (int units = 1; units <= 4; ++units) {
      const auto plan = make_plan(a, random_parts(a, units, units), units);
      const std::string dir = path(fmt::format("u{}{}{}", units, v2, static_cast<int>(aggregation)));
      export_deployment(a, *net, plan, dir);
      LocalExecutor run(a, plan, dir);
      const auto got = run.forward(images);
      EXPECT_LT((got - expected).abs().max().item<double>(), 1e-4) << units << " units, version " << 1 + v2;
    }
  }
}

// Version 2: what the plan sends (each transfer the widest part its remote edges carry,
// float16 when all are fp16) is what the simulator predicts the partition sends.
TEST_F(ADeployment, SendsWhatTheSimulatorCountsForVersion2Edges) {
  const auto a = testing::with_version2_design(test_architecture(arch::Aggregation::kRandWire));
  const auto cost = arch::compute_cost(a);
  bool narrowed = false, half = false;
  for (int units = 2; units <= 4; ++units) {
    const auto parts = random_parts(a, units, 60 + units);
    const auto plan = make_plan(a, parts, units);
    const auto devices = sim::DeviceModel::uniform(units, 1e10);
    EXPECT_EQ(plan.bytes_per_image(), sim::simulate(a, cost, parts, devices, sim::LinkModel{}).comm_bytes) << units;
    for (const auto& t : plan.transfers) {
      if (t.vertex == a.dag.output()) continue;
      narrowed = narrowed || t.shape.channels < a.shape_of(t.vertex).channels;
      half = half || t.half;
      EXPECT_EQ(t.bytes, t.shape.elements() * (t.half ? 2 : 4));
    }
  }
  EXPECT_TRUE(narrowed && half) << "no transfer was narrowed or float16: the test checks neither";
}

// The partition's connectivity cost, except that a sink off unit 0 no longer travels
// (each unit other than 0 holding sinks sends one partial sum, pooled: the output's
// channels) and
// that the images travel instead of the stem's tensor.
TEST_F(ADeployment, PlansTheTrafficThePartitionCostsWithOnePartialSumPerUnit) {
  const auto a = test_architecture(arch::Aggregation::kRandWire);
  const auto cost = arch::compute_cost(a);
  const auto hg = partition::build_hypergraph(a, cost);
  int all_partials = 0;
  for (int units = 1; units <= 4; ++units) {
    const auto parts = random_parts(a, units, 40 + units);
    const auto plan = make_plan(a, parts, units);
    std::int64_t expected = partition::connectivity_cost(hg, parts, units);
    std::set<int> holding;
    for (int s : a.output.inputs)
      if (parts[s] != 0) {
        expected -= cost.vertices[s].output_bytes;
        holding.insert(parts[s]);
      }
    expected += static_cast<std::int64_t>(holding.size()) * a.output.in.channels * 4;
    // A unit that reads the stem's tensor gets the images instead and runs the stem itself.
    std::set<int> reading;
    for (int s : a.dag.successors(a.dag.input()))
      if (s != a.dag.output() && parts[s] != 0) reading.insert(parts[s]);
    expected -= static_cast<std::int64_t>(reading.size()) * (cost.stem.output_bytes - arch::images_part(a).bytes());
    EXPECT_EQ(plan.bytes_per_image(), expected) << units;
    int partials = 0, sinks = 0;
    for (const auto& t : plan.transfers)
      if (t.vertex == a.dag.output()) {
        ++partials;
        EXPECT_TRUE(holding.count(t.from));
        EXPECT_EQ(t.to, std::vector<int>{0});
      }
    EXPECT_EQ(partials, static_cast<int>(holding.size())) << units;
    all_partials += partials;
    for (int u = 0; u < units; ++u) {
      sinks += static_cast<int>(plan.units[u].sinks.size());
      for (int s : plan.units[u].sinks) EXPECT_EQ(parts[s], u);
    }
    EXPECT_EQ(sinks, static_cast<int>(a.output.inputs.size()));
    // Every vertex runs on exactly one unit; every cross-unit input is received.
    int placed = 0;
    for (int u = 0; u < units; ++u) {
      placed += static_cast<int>(plan.units[u].vertices.size());
      for (int v : plan.units[u].vertices)
        for (int p : a.vertices[v].inputs)
          if (parts[p] != u) {
            const auto& r = plan.units[u].receives;
            EXPECT_TRUE(std::find(r.begin(), r.end(), p) != r.end()) << "unit " << u << " misses v" << p;
          }
    }
    EXPECT_EQ(placed, a.dag.num_compute());
  }
  EXPECT_GT(all_partials, 0) << "no partition put a sink off unit 0: the test checks nothing";
  auto bad = random_parts(a, 2, 1);
  bad[a.dag.output()] = 1;
  EXPECT_THROW(make_plan(a, bad, 2), InvalidArgument);
  EXPECT_THROW(make_plan(a, std::vector<int>(3, 0), 2), InvalidArgument);
}

TEST_F(ADeployment, WritesAPlanWithAHashThatFollowsTheWeights) {
  const auto a = test_architecture(arch::Aggregation::kRandWire);
  auto net = randomised(a);
  const auto plan = make_plan(a, random_parts(a, 3, 9), 3);
  const auto h1 = export_deployment(a, *net, plan, path("d"));
  std::ifstream in(path("d/plan.yaml"));
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find(fmt::format("hash: \"{:016x}\"", h1)), std::string::npos) << text;
  EXPECT_NE(text.find("unit_plans:"), std::string::npos);
  {
    torch::NoGradGuard no_grad;
    net->parameters()[3].add_(1e-3);
  }
  EXPECT_NE(export_deployment(a, *net, plan, path("d2")), h1);
}

TEST_F(ADeployment, LoadsInPythonWithoutConcnas) {
  if (std::system("/usr/bin/python3 -c 'import torch' >/dev/null 2>&1") != 0)
    GTEST_SKIP() << "Debian's python3-torch is not installed";
  const auto a = test_architecture(arch::Aggregation::kRandWire);
  auto net = randomised(a);
  const auto plan = make_plan(a, random_parts(a, 2, 3), 2);
  export_deployment(a, *net, plan, path("py"));
  const auto expected = net->forward(torch::ones({1, 1, 12, 12}));
  // Python runs unit 0's stem and reports unit 1's vertex list.
  const std::string script = path("check.py");
  std::ofstream(script) << "import sys, torch\n"
                           "u0 = torch.jit.load(sys.argv[1] + '/unit_0.pt')\n"
                           "u1 = torch.jit.load(sys.argv[1] + '/unit_1.pt')\n"
                           "x = u0.stem(torch.ones(1, 1, 12, 12))\n"
                           "print(list(x.shape), u1.vertices())\n";
  const std::string out = path("py.txt");
  ASSERT_EQ(std::system(("/usr/bin/python3 " + script + " " + path("py") + " >" + out + " 2>&1").c_str()), 0);
  std::ifstream in(out);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::string ids;
  for (int v : plan.units[1].vertices) ids += (ids.empty() ? "" : ", ") + std::to_string(v);
  EXPECT_NE(text.find(fmt::format("[1, 4, 12, 12] [{}]", ids)), std::string::npos) << text;
  // A one-unit export is the whole network as forward(images), batch norms folded in.
  export_deployment(a, *net, make_plan(a, std::vector<int>(a.dag.num_vertices(), 0), 1), path("one"));
  std::ofstream(script) << "import sys, torch\n"
                           "m = torch.jit.load(sys.argv[1] + '/unit_0.pt')\n"
                           "print(' '.join('%.7f' % v for v in m(torch.ones(1, 1, 12, 12))[0].tolist()))\n";
  ASSERT_EQ(std::system(("/usr/bin/python3 " + script + " " + path("one") + " >" + out + " 2>&1").c_str()), 0);
  std::ifstream logits(out);
  for (int k = 0; k < a.network.classes; ++k) {
    double v = 0;
    ASSERT_TRUE(logits >> v) << "Python printed fewer than " << a.network.classes << " logits";
    EXPECT_NEAR(v, expected[0][k].item<double>(), 1e-4) << "logit " << k;
  }
}

}  // namespace
}  // namespace concnas::deploy
