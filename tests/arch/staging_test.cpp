#include "concnas/arch/staging.h"

#include <gtest/gtest.h>

#include "concnas/arch/architecture.h"
#include "concnas/common/error.h"

namespace concnas::arch {
namespace {

class AStagedArchitecture : public ::testing::Test {
 protected:
  Architecture make(const std::string& generator, const std::string& policy, std::uint64_t seed,
                    int nodes = 40) {
    GenerateOptions o;
    o.generator = generator;
    o.nodes = nodes;
    o.seed = seed;
    o.staging.policy = policy;
    return generate_architecture(o, generators_, policies_);
  }
  graph::GeneratorRegistry generators_ = graph::builtin_generators();
  StagingRegistry policies_ = builtin_staging_policies();
};

TEST_F(AStagedArchitecture, UnderUniformStagingNeverStagesOrScales) {
  for (const auto& g : generators_.names())
    for (int s = 0; s < 10; ++s) {
      const auto a = make(g, "uniform", s);
      EXPECT_EQ(a.num_staged(), 0);
      for (const auto& v : a.vertices) {
        EXPECT_EQ(v.out, a.stem_shape());
        EXPECT_TRUE(v.scaling.empty());
      }
    }
}

TEST_F(AStagedArchitecture, UnderGreedyStagingStagesEveryEligibleVertexAndNeverExceedsTheLimit) {
  for (const auto& g : generators_.names())
    for (int s = 0; s < 20; ++s) {
      const auto a = make(g, "greedy", s);
      for (const auto& v : a.vertices) {
        EXPECT_LE(v.out.channels, a.network.channel_limit);
        EXPECT_GE(v.out.height, a.network.min_resolution);
        EXPECT_EQ(v.staged, can_stage(v.in, a.network)) << "vertex " << v.id;
      }
    }
}

TEST_F(AStagedArchitecture, UnderProbabilisticStagingStagesAboutHalfOfTheEligibleVertices) {
  int eligible = 0;
  int staged = 0;
  for (const auto& g : generators_.names())
    for (int s = 0; s < 100; ++s) {
      const auto a = make(g, "probabilistic", s);
      for (const auto& v : a.vertices) {
        eligible += can_stage(v.in, a.network);
        staged += v.staged;
      }
    }
  ASSERT_GT(eligible, 1000);
  const double fraction = static_cast<double>(staged) / eligible;
  EXPECT_NEAR(fraction, 0.5, 0.04) << staged << " of " << eligible;
}

TEST_F(AStagedArchitecture, ReconcilesDifferingInputsWithScalingBlocks) {
  for (const auto& g : generators_.names())
    for (int s = 0; s < 20; ++s) {
      const auto a = make(g, "probabilistic", s);
      std::vector<VertexSpec> specs = a.vertices;
      specs.push_back(a.output);
      for (const auto& v : specs) {
        Shape expected = a.shape_of(v.inputs.front());
        std::size_t differing = 0;
        for (int p : v.inputs) {
          const Shape s = a.shape_of(p);
          expected.channels = std::max(expected.channels, s.channels);
          expected.height = std::min(expected.height, s.height);
          expected.width = std::min(expected.width, s.width);
        }
        for (int p : v.inputs) differing += a.shape_of(p) != expected;
        EXPECT_EQ(v.in, expected);
        EXPECT_EQ(v.scaling.size(), differing);
        for (const auto& b : v.scaling) {
          EXPECT_EQ(b.from_shape, a.shape_of(b.from));
          EXPECT_EQ(b.pool, b.from_shape.height != v.in.height);
          EXPECT_EQ(b.project, b.from_shape.channels != v.in.channels);
        }
      }
    }
}

TEST_F(AStagedArchitecture, HalvesResolutionAndDoublesChannelsWhenStaged) {
  NetworkOptions o;
  EXPECT_EQ(staged_shape({16, 28, 28}, o), (Shape{32, 14, 14}));
  EXPECT_EQ(staged_shape({64, 7, 7}, o), (Shape{128, 4, 4}));
  o.channel_limit = 100;
  EXPECT_EQ(staged_shape({64, 7, 7}, o), (Shape{100, 4, 4}));
  EXPECT_FALSE(can_stage({100, 7, 7}, o));
  EXPECT_TRUE(can_stage({16, 7, 7}, NetworkOptions{}));   // 7 -> 4 keeps >= 4
  EXPECT_FALSE(can_stage({16, 6, 6}, NetworkOptions{}));  // 6 -> 3 would drop below 4
}

TEST_F(AStagedArchitecture, IsReproducibleFromItsSeed) {
  EXPECT_EQ(make("dp", "probabilistic", 5), make("dp", "probabilistic", 5));
  EXPECT_FALSE(make("dp", "probabilistic", 5) == make("dp", "probabilistic", 6));
}

TEST_F(AStagedArchitecture, RebuildsFromRecordedDecisionsAndRejectsImpossibleOnes) {
  const auto a = make("ws", "probabilistic", 3);
  std::vector<bool> staged;
  for (const auto& v : a.vertices) staged.push_back(v.staged);
  const auto b = rebuild_architecture(a.dag, a.network, staged);
  EXPECT_EQ(b.vertices, a.vertices);
  EXPECT_EQ(b.output, a.output);
  // Stage everything: some vertex is then past the limit and must be refused.
  EXPECT_THROW(rebuild_architecture(a.dag, a.network, std::vector<bool>(40, true)),
               InvalidArgument);
  EXPECT_THROW(rebuild_architecture(a.dag, a.network, std::vector<bool>(39, false)),
               InvalidArgument);
}

TEST(AStagingRegistry, CreatesKnownPoliciesAndRejectsOthers) {
  const auto r = builtin_staging_policies();
  EXPECT_EQ(r.names(), (std::vector<std::string>{"uniform", "greedy", "probabilistic"}));
  StagingOptions o;
  o.policy = "sometimes";
  EXPECT_THROW(r.create(o), InvalidArgument);
  o.policy = "probabilistic";
  o.probability = 1.5;
  EXPECT_THROW(r.create(o), InvalidArgument);
}

TEST(ANetworkOptions, RejectsImpossibleValues) {
  NetworkOptions o;
  o.channel_limit = 8;
  EXPECT_THROW(o.sanity_check(), InvalidArgument);
  o = NetworkOptions{};
  o.classes = 1;
  EXPECT_THROW(o.sanity_check(), InvalidArgument);
  o = NetworkOptions{};
  o.input = {1, 0, 28};
  EXPECT_THROW(o.sanity_check(), InvalidArgument);
}

}  // namespace
}  // namespace concnas::arch

namespace concnas::arch {
namespace {

TEST(ANetworkOptions, RefusesSizesThatWouldOverflowACount) {
  NetworkOptions o;
  o.input = {1, 2147483647, 28};
  EXPECT_THROW(o.sanity_check(), InvalidArgument);
  o.input = {1, 28, 28};
  o.stem_channels = 1500000000;
  o.channel_limit = 1500000000;
  EXPECT_THROW(o.sanity_check(), InvalidArgument);
  o.stem_channels = 16;
  o.channel_limit = 64;
  EXPECT_NO_THROW(o.sanity_check());
  GenerateOptions g;
  g.nodes = 100000000;  // would take gigabytes before any check
  EXPECT_THROW(generate_architecture(g, graph::builtin_generators(), builtin_staging_policies()), InvalidArgument);
}

}  // namespace
}  // namespace concnas::arch
