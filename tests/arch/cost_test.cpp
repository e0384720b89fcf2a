#include "concnas/arch/cost.h"

#include <gtest/gtest.h>

#include "support/tiny_network.h"

namespace concnas::arch {
namespace {

// The hand-built network of tests/support/tiny_network.h, costed by hand below.
using concnas::testing::tiny_network;
using concnas::testing::tiny_network_options;

TEST(ACostModel, GivesHandComputedValuesForEveryBlock) {
  const auto a = tiny_network();
  ASSERT_EQ(a.vertices[2].scaling.size(), 1u);
  const auto c = compute_cost(a);
  // stem: 9*1*4 + 2*4 params; 2*9*1*4*64 + 2*4*64 FLOPs; 4*8*8 floats out (4 bytes each).
  EXPECT_EQ(c.stem, (Cost{5120, 44, 1024, 1024 / 4}));
  // v0: dw 9*4 + pw 4*8 + BN 16 params; 2*9*4*16 + 2*4*8*16 + 2*128 FLOPs.
  EXPECT_EQ(c.vertices[0], (Cost{2432, 84, 512, 512 / 4}));
  // v1: dw 36 + pw 16 + BN 8 params; 2*9*4*64 + 2*4*4*64 + 2*256 FLOPs.
  EXPECT_EQ(c.vertices[1], (Cost{7168, 60, 1024, 1024 / 4}));
  // v2: pool 256 + project 2*4*8*16 (32 params) + aggregation 3*128 (2 params)
  //     + dw 2*9*8*16 + pw 2*8*8*16 + BN 256 (72 + 64 + 16 params).
  EXPECT_EQ(c.vertices[2], (Cost{6272, 186, 512, 512 / 4}));
  // output: one sink, nothing to average.
  EXPECT_EQ(c.output, (Cost{0, 0, 512, 512 / 4}));
  // head: pool 128 + linear 2*8*3 + bias 3; 8*3 + 3 params.
  EXPECT_EQ(c.head, (Cost{179, 27, 12, 12 / 4}));
  EXPECT_EQ(c.total.params, 44 + 84 + 60 + 186 + 27);
  EXPECT_EQ(c.total.flops, 5120 + 2432 + 7168 + 6272 + 179);
  EXPECT_EQ(c.total.output_bytes, 1024 + 512 + 1024 + 512 + 512);
}

TEST(ACostModel, CountsAveragingOfSeveralSinks) {
  auto dag = graph::Dag::from_compute_edges(2, {});
  const auto a = rebuild_architecture(dag, tiny_network_options(), {false, false});
  EXPECT_EQ(compute_cost(a).output, (Cost{2 * 256, 0, 1024, 1024 / 4}));
}

TEST(ACostModel, CountsEachBlockOnItsOwn) {
  EXPECT_EQ(aggregation_cost(1, {8, 4, 4}), (Cost{0, 0, 0, 0 / 4}));
  EXPECT_EQ(aggregation_cost(3, {8, 4, 4}), (Cost{5 * 128, 3, 0, 0 / 4}));
  EXPECT_EQ(scaling_cost({0, {4, 8, 8}, true, false}, {4, 4, 4}), (Cost{256, 0, 0, 0 / 4}));
  EXPECT_EQ(scaling_cost({0, {4, 4, 4}, false, true}, {8, 4, 4}), (Cost{2 * 4 * 8 * 16, 32, 0, 0 / 4}));
  EXPECT_EQ(head_cost({8, 1, 1}, 10).params, 90);
}

TEST(ACostModel, SumsVerticesIntoTheTotal) {
  GenerateOptions o;
  o.generator = "ba";
  const auto a = generate_architecture(o, graph::builtin_generators(), builtin_staging_policies());
  const auto c = compute_cost(a);
  Cost sum = c.stem;
  for (const auto& v : c.vertices) sum += v;
  sum += c.output;
  EXPECT_EQ(c.total.flops, sum.flops + c.head.flops);
  EXPECT_EQ(c.total.params, sum.params + c.head.params);
  EXPECT_EQ(c.total.output_bytes, sum.output_bytes);
}

}  // namespace
}  // namespace concnas::arch
