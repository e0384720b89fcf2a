// The runtime's workers in threads of one process, talking through a real TCPStore and
// Gloo over loopback. Workers as separate processes are tested through the CLI.
#include "concnas/deploy/runtime.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <functional>
#include <future>
#include <map>
#include <tuple>

#include <nlohmann/json.hpp>
#include <thread>

#include "concnas/common/atomic_file.h"
#include "concnas/deploy/export.h"
#include "support/deploy_network.h"
#include "support/version2_network.h"
#include "support/temp_dir.h"

namespace concnas::deploy {
namespace {

using std::chrono::milliseconds;

class ARuntime : public testing::TempDirTest {
 protected:
  // Exports `net` split over `units` into `name` and reads it back.
  Deployment exported(const arch::Architecture& a, nn::NetworkImpl& net, int units, const std::string& name) {
    const auto plan = make_plan(a, testing::random_parts(a, units, 30 + units), units);
    export_deployment(a, net, plan, path(name), InputSpec{{0.25}, {0.5}});
    return read_deployment(path(name));
  }

  static WorkerOptions options(int rank, int world, int port, milliseconds timeout = milliseconds(20000)) {
    WorkerOptions o;
    o.rank = rank;
    o.world = world;
    o.master = {"127.0.0.1", port};
    o.serve_store = false;
    o.timeout = timeout;
    return o;
  }

  // Workers 1..N-1 serving in threads; rank 0's work runs in `drive`, and `finished` is
  // given worker 0 after it finished. With `trace`, worker K writes its trace to `trace` + K.
  template <typename F>
  void with_workers(const Deployment& d, bool fp16, F drive, const std::string& trace = "",
                    const std::function<void(Worker&)>& finished = {}) {
    const int n = d.plan.num_units;
    StoreServer store("127.0.0.1", 0, milliseconds(20000));
    std::vector<std::future<std::int64_t>> others;
    for (int r = 1; r < n; ++r)
      others.push_back(std::async(std::launch::async, [&, r] {
        auto o = options(r, n, store.port());
        o.fp16 = fp16;
        if (!trace.empty()) o.trace = trace + std::to_string(r);
        Worker w(d, o);
        const auto served = w.serve();
        w.write_trace();
        return served;
      }));
    auto o = options(0, n, store.port());
    o.fp16 = fp16;
    if (!trace.empty()) o.trace = trace + "0";
    Worker w0(d, o);
    drive(w0);
    w0.finish();
    if (finished) finished(w0);
    w0.write_trace();
    for (auto& f : others) EXPECT_GT(f.get(), 0);
  }
};

TEST_F(ARuntime, GivesTheSingleModelsLogitsOnOneToFourUnits) {
  const auto a = testing::deploy_architecture(arch::Aggregation::kRandWire);
  auto net = testing::randomised_network(a);
  torch::manual_seed(3);
  const auto images = torch::randn({3, 1, 12, 12});
  const auto expected = net->forward(images);
  for (int units = 1; units <= 4; ++units) {
    const auto d = exported(a, *net, units, "u" + std::to_string(units));
    with_workers(d, false, [&](Worker& w) {
      for (int i = 0; i < 2; ++i) {  // two inferences: receives are matched per inference
        const auto got = w.infer(images);
        EXPECT_LT((got - expected).abs().max().item<double>(), 1e-4) << units << " units";
      }
      // Another batch size: smaller than the images' receive posted ahead (padded into it),
      // then larger again (zeros fill that receive, and the images follow).
      const auto one = w.infer(images.narrow(0, 1, 1));
      EXPECT_LT((one - expected.narrow(0, 1, 1)).abs().max().item<double>(), 1e-4) << units << " units";
      EXPECT_LT((w.infer(images) - expected).abs().max().item<double>(), 1e-4) << units << " units";
    });
  }
}

// The images go ahead of worker 0's stem into receives posted after the last inference;
// padding and the zeros that fill a receive too small are not counted as sent.
TEST_F(ARuntime, CountsOnlyTheImagesItSendsAheadOfTheStem) {
  const auto a = testing::deploy_architecture(arch::Aggregation::kRandWire);
  auto net = testing::randomised_network(a);
  torch::manual_seed(4);
  const auto d = exported(a, *net, 3, "u3");
  ASSERT_TRUE(std::any_of(d.plan.transfers.begin(), d.plan.transfers.end(),
                          [&](const Transfer& t) { return t.vertex == a.dag.input(); }))
      << "no unit other than 0 runs the stem";
  double per_image = 0;
  with_workers(
      d, false, [&](Worker& w) {
        for (int batch : {4, 4, 2, 5, 1}) (void)w.infer(torch::randn({batch, 1, 12, 12}));
      },
      "", [&](Worker& w) { per_image = w.bytes_sent_per_image(); });
  EXPECT_EQ(per_image, static_cast<double>(d.plan.bytes_per_image()));
}

// Version 2: transfers carry only the channels their edges take, fp16 edges as float16.
TEST_F(ARuntime, SendsWhatVersion2EdgesCarryAndGivesTheSameLogits) {
  const auto a = testing::with_version2_design(testing::deploy_architecture(arch::Aggregation::kRandWire));
  auto net = testing::randomised_network(a);
  torch::manual_seed(3);
  const auto images = torch::randn({3, 1, 12, 12});
  const auto expected = net->forward(images);
  const auto d = exported(a, *net, 3, "v2");
  bool narrowed = false, half = false;
  for (const auto& t : d.plan.transfers) {
    narrowed = narrowed || (t.vertex != a.dag.output() && t.shape.channels < a.shape_of(t.vertex).channels);
    half = half || t.half;
  }
  EXPECT_TRUE(narrowed && half) << "the partition sends no narrowed or no float16 tensor: the test checks neither";
  with_workers(d, false, [&](Worker& w) {
    EXPECT_LT((w.infer(images) - expected).abs().max().item<double>(), 1e-4);
  });
}

TEST_F(ARuntime, SendsHalfPrecisionActivationsWhenAsked) {
  const auto a = testing::deploy_architecture(arch::Aggregation::kRandWire);
  auto net = testing::randomised_network(a);
  const auto images = torch::randn({2, 1, 12, 12});
  const auto expected = net->forward(images);
  const auto d = exported(a, *net, 3, "fp16");
  ASSERT_FALSE(d.plan.transfers.empty());
  with_workers(d, true, [&](Worker& w) {
    const double diff = (w.infer(images) - expected).abs().max().item<double>();
    EXPECT_GT(diff, 0.0);  // the rounding shows: the tensors really travelled as fp16
    EXPECT_LT(diff, 0.05 * expected.abs().max().item<double>());
  });
}

// A trace holds every layer call of every inference on the unit that ran it, and a
// received tensor's wait ends after its sender began posting it (one clock for all).
TEST_F(ARuntime, TracesWhatEachWorkerRanAndWaitedFor) {
  const auto a = testing::deploy_architecture(arch::Aggregation::kRandWire);
  auto net = testing::randomised_network(a);
  const auto d = exported(a, *net, 3, "traced");
  ASSERT_FALSE(d.plan.transfers.empty());
  const int inferences = 2;
  with_workers(
      d, false,
      [&](Worker& w) {
        for (int i = 0; i < inferences; ++i) w.infer(torch::randn({1, 1, 12, 12}));
      },
      path("trace."));
  merge_traces({path("trace.0"), path("trace.1"), path("trace.2")}, path("trace.json"));
  std::ifstream in(path("trace.json"));
  const auto events = nlohmann::json::parse(in).at("traceEvents");
  std::map<std::tuple<int, std::string, std::int64_t>, std::pair<double, double>> seen;  // (pid, name, i) -> ts, end
  double earliest = 1e300;
  for (const auto& e : events) {
    if (e.at("ph") != "X") continue;
    const double ts = e.at("ts").get<double>();
    earliest = std::min(earliest, ts);
    EXPECT_GE(e.at("dur").get<double>(), 0.0);
    seen[{e.at("pid").get<int>(), e.at("name").get<std::string>(), e.at("args").at("inference").get<std::int64_t>()}] =
        {ts, ts + e.at("dur").get<double>()};
  }
  EXPECT_EQ(earliest, 0.0);  // merged times start at the first event
  for (std::int64_t i = 0; i < inferences; ++i) {
    EXPECT_TRUE(seen.count({0, "stem", i}));
    EXPECT_TRUE(seen.count({0, "head", i}));
    for (int u = 0; u < 3; ++u)
      for (int v : d.plan.units[u].vertices) EXPECT_TRUE(seen.count({u, "v" + std::to_string(v), i})) << u << " v" << v;
    for (const auto& t : d.plan.transfers) {
      const bool partial = t.vertex == a.dag.output();
      const std::string what = partial                       ? "partial"
                               : t.vertex == a.dag.input() ? "images"  // the stem runs where they go
                                                           : "v" + std::to_string(t.vertex);
      for (int to : t.to) {
        const auto wait = seen.find({to, "wait " + (partial ? what + std::to_string(t.from) : what), i});
        ASSERT_NE(wait, seen.end()) << "unit " << to << " " << what;
        const auto send = seen.find({t.from, "send " + what, i});
        ASSERT_NE(send, seen.end()) << "unit " << t.from << " " << what;
        EXPECT_GT(wait->second.second, send->second.first) << what << " arrived before it was sent";
      }
    }
  }
}

TEST_F(ARuntime, RefusesAWorkerWithOtherWeightsAtTheHandshake) {
  const auto a = testing::deploy_architecture(arch::Aggregation::kRandWire);
  auto net = testing::randomised_network(a, 1);
  auto other = testing::randomised_network(a, 2);
  const auto d1 = exported(a, *net, 2, "one");
  const auto d2 = exported(a, *other, 2, "two");
  StoreServer store("127.0.0.1", 0, milliseconds(20000));
  auto peer = std::async(std::launch::async, [&] {
    try {
      Worker w(d2, options(1, 2, store.port()));
      return std::string("joined");
    } catch (const RuntimeFault& e) {
      return std::string(e.what());
    }
  });
  try {
    Worker w(d1, options(0, 2, store.port()));
    ADD_FAILURE() << "worker 0 joined a worker with other weights";
  } catch (const RuntimeFault& e) {
    EXPECT_NE(std::string(e.what()).find("worker 1 runs another deployment"), std::string::npos) << e.what();
  }
  EXPECT_NE(peer.get().find("worker 0 runs another deployment"), std::string::npos);
}

TEST_F(ARuntime, GivesUpOnAWorkerThatNeverJoins) {
  const auto a = testing::deploy_architecture(arch::Aggregation::kRandWire);
  auto net = testing::randomised_network(a);
  const auto d = exported(a, *net, 2, "d");
  StoreServer store("127.0.0.1", 0, milliseconds(20000));
  const auto t0 = std::chrono::steady_clock::now();
  try {
    Worker w(d, options(0, 2, store.port(), milliseconds(1500)));
    ADD_FAILURE() << "joined without worker 1";
  } catch (const RuntimeFault& e) {
    EXPECT_NE(std::string(e.what()).find("worker 1 did not join"), std::string::npos) << e.what();
  }
  const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_GE(waited, 1.4);
  EXPECT_LT(waited, 10.0);
}

TEST_F(ARuntime, ReportsAPeerThatStopsMidRun) {
  const auto a = testing::deploy_architecture(arch::Aggregation::kRandWire);
  auto net = testing::randomised_network(a);
  const auto d = exported(a, *net, 2, "d");
  ASSERT_FALSE(d.plan.units[1].receives.empty());
  StoreServer store("127.0.0.1", 0, milliseconds(20000));
  // Worker 1 joins, then goes away without serving: its connections close.
  auto peer = std::async(std::launch::async, [&] { Worker w(d, options(1, 2, store.port())); });
  Worker w0(d, options(0, 2, store.port(), milliseconds(5000)));
  peer.get();
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_THROW(
      {
        for (int i = 0; i < 3; ++i) w0.infer(torch::randn({1, 1, 12, 12}));
      },
      RuntimeFault);
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 10.0);
}

TEST_F(ARuntime, RejectsAMalformedPlanOrAnotherExportsUnitFile) {
  const auto a = testing::deploy_architecture(arch::Aggregation::kRandWire);
  auto net = testing::randomised_network(a, 1);
  auto other = testing::randomised_network(a, 2);
  const auto d = exported(a, *net, 2, "d");
  exported(a, *other, 2, "e");
  EXPECT_EQ(d.input.mean, std::vector<double>{0.25});
  EXPECT_EQ(d.plan.parts, make_plan(a, testing::random_parts(a, 2, 32), 2).parts);
  // Another export's unit file: refused before joining.
  std::filesystem::copy_file(path("e/unit_1.pt"), path("d/unit_1.pt"),
                             std::filesystem::copy_options::overwrite_existing);
  try {
    check_unit_file(d, 1);
    ADD_FAILURE() << "accepted another export's unit file";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("unit_1.pt is not the file"), std::string::npos) << e.what();
  }
  // A plan whose unit lists contradict its parts, and a truncated plan.
  const std::string text = read_file(path("d/plan.yaml"));
  const auto at = text.find("vertices: [");
  std::string edited = text;
  edited.insert(at + 11, "999, ");
  write_file_atomic(path("d/plan.yaml"), edited);
  try {
    read_deployment(path("d"));
    ADD_FAILURE() << "accepted a contradictory plan";
  } catch (const ParseError& e) {
    EXPECT_NE(std::string(e.what()).find("plan.yaml:"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("do not follow from 'parts'"), std::string::npos) << e.what();
  }
  write_file_atomic(path("d/plan.yaml"), text.substr(0, text.size() / 2));
  EXPECT_THROW(read_deployment(path("d")), ParseError);
  EXPECT_THROW(read_deployment(path("missing")), IoError);
}

TEST_F(ARuntime, RefusesAPlanThatNamesFilesOutsideItsFolderOrMeaninglessInputs) {
  const auto a = testing::deploy_architecture(arch::Aggregation::kRandWire);
  auto net = testing::randomised_network(a, 1);
  exported(a, *net, 2, "d");
  const std::string text = read_file(path("d/plan.yaml"));
  auto refused = [&](const std::string& from, const std::string& to, const std::string& what) {
    std::string edited = text;
    const auto at = edited.find(from);
    ASSERT_NE(at, std::string::npos) << from;
    edited.replace(at, from.size(), to);
    write_file_atomic(path("d/plan.yaml"), edited);
    try {
      read_deployment(path("d"));
      ADD_FAILURE() << "accepted " << to;
    } catch (const ParseError& e) {
      EXPECT_NE(std::string(e.what()).find(what), std::string::npos) << e.what();
    }
  };
  refused("arch_file: arch.yaml", "arch_file: /dev/zero", "must name a file in the deployment folder");
  refused("arch_file: arch.yaml", "arch_file: ../d/arch.yaml", "must name a file in the deployment folder");
  // The one channel's value: "std: [0.5]" as written.
  auto list_of = [&](const std::string& key) {
    const auto at = text.find(key + ": [");
    return text.substr(at, text.find(']', at) + 1 - at);
  };
  refused(list_of("std"), "std: [.inf]", "'input.std' values must be positive and finite");
  refused(list_of("mean"), "mean: [.nan]", "'input.mean' values must be finite");
}

TEST(AnEndpoint, IsHostColonPort) {
  EXPECT_EQ(parse_endpoint("10.0.0.1:29500", "--master").port, 29500);
  EXPECT_EQ(parse_endpoint("node-a:7", "--master").host, "node-a");
  for (const char* bad : {"10.0.0.1", ":80", "h:", "h:0", "h:70000", "h:8x"})
    EXPECT_THROW(parse_endpoint(bad, "--master"), InvalidArgument) << bad;
}

}  // namespace
}  // namespace concnas::deploy
