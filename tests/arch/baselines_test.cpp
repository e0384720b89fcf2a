#include "concnas/arch/baselines.h"

#include <gtest/gtest.h>

#include "concnas/config/architecture_yaml.h"
#include "concnas/graph/analysis.h"
#include "support/expect_error.h"

namespace concnas::arch {
namespace {

NetworkOptions fmnist() {
  NetworkOptions n;
  n.input = {1, 28, 28};
  n.classes = 10;
  n.stem_channels = 16;
  n.channel_limit = 64;
  return n;
}

TEST(AChainBaseline, IsOnePathThatLoadsBackFromItsFile) {
  StagingOptions s;
  const auto a = chain_architecture(12, s, fmnist(), 3);
  EXPECT_EQ(a.dag.num_compute_arcs(), 11);
  EXPECT_EQ(graph::longest_path(a.dag), 12);
  EXPECT_EQ(config::architecture_from_yaml(config::architecture_to_yaml(a), "chain.yaml"), a);
}

TEST(ARandWireBaseline, StagesExactlyTheSourcesOfItsLaterStages) {
  const auto a = randwire_architecture(30, fmnist(), 5);
  EXPECT_EQ(a.name, "randwire-n30-s5");
  // Three stages of 10: resolutions 28, 14, 7 and channels 16, 32, 64.
  for (int v = 0; v < 30; ++v) {
    const int stage = v / 10;
    EXPECT_EQ(a.vertices[v].out.height, 28 >> stage) << v;
    EXPECT_EQ(a.vertices[v].out.channels, 16 << stage) << v;
    bool from_earlier_stage = false;
    for (int p : a.vertices[v].inputs)
      from_earlier_stage = from_earlier_stage || (a.dag.is_compute(p) && p / 10 < stage);
    EXPECT_EQ(a.vertices[v].staged, from_earlier_stage) << v;
  }
  // Every path crosses the stages in order: no arc skips one.
  for (const auto& arc : a.dag.compute_arcs()) EXPECT_LE(arc.to / 10 - arc.from / 10, 1);
  EXPECT_EQ(config::architecture_from_yaml(config::architecture_to_yaml(a), "rw.yaml"), a);
  EXPECT_EQ(randwire_architecture(30, fmnist(), 5), a);
  EXPECT_FALSE(randwire_architecture(30, fmnist(), 6) == a);
}

TEST(ARandWireBaseline, RejectsStagesTooSmallForItsGraphs) {
  testing::expect_error_containing<InvalidArgument>([] { randwire_architecture(12, fmnist(), 0); }, "per stage");
}

}  // namespace
}  // namespace concnas::arch
