#include "concnas/graph/generator.h"

#include <gtest/gtest.h>

#include "support/expect_error.h"

#include <cmath>
#include <functional>
#include <set>

#include "concnas/common/error.h"
#include "concnas/common/rng.h"

namespace concnas::graph {
namespace {

class AGenerator : public ::testing::Test {
 protected:
  GeneratorRegistry registry_ = builtin_generators();
  const Generator& gen(const std::string& name) { return registry_.get(name); }
};

// ---------------------------------------------------------------- reproducibility

TEST(ARng, MatchesTheStandardMt19937_64Sequence) {
  // The standard fixes the 10000th output of a default-seeded mt19937_64.
  Rng rng(5489u);
  std::uint64_t x = 0;
  for (int i = 0; i < 10000; ++i) x = rng.next();
  EXPECT_EQ(x, 9981545732273789042ULL);
}

TEST(ARng, UniformStaysInTheUnitIntervalAndBelowIsInRange) {
  Rng rng(1);
  for (int i = 0; i < 10000; ++i) {
    const double u = rng.uniform();
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    ASSERT_LT(rng.below(7), 7u);
  }
}

TEST(ARng, DerivedStreamsDifferFromEachOtherAndRepeat) {
  EXPECT_EQ(Rng::derive(3, 1).next(), Rng::derive(3, 1).next());
  EXPECT_NE(Rng::derive(3, 1).next(), Rng::derive(3, 2).next());
  EXPECT_NE(Rng::derive(3, 1).next(), Rng::derive(4, 1).next());
}

TEST_F(AGenerator, GivesTheSameGraphForTheSameSeed) {
  for (const auto& name : registry_.names()) {
    const auto a = gen(name).generate(40, {}, 11);
    const auto b = gen(name).generate(40, {}, 11);
    EXPECT_EQ(a, b) << name;
  }
}

TEST_F(AGenerator, GivesDifferentGraphsForDifferentSeeds) {
  for (const auto& name : registry_.names()) {
    EXPECT_FALSE(gen(name).generate(40, {}, 1) == gen(name).generate(40, {}, 2)) << name;
  }
}

// Golden graphs recorded from this implementation: they pin the random stream and the
// generators' draw order, so any platform or refactor that changes a graph fails here.
TEST_F(AGenerator, ReproducesRecordedGoldenGraphs) {
  auto fingerprint = [](const UndirectedGraph& g) {
    std::uint64_t h = 1469598103934665603ULL;
    for (const auto& e : g.edges()) h = (h ^ static_cast<std::uint64_t>(e.u * 1000 + e.v)) * 1099511628211ULL;
    return h;
  };
  EXPECT_EQ(fingerprint(gen("er").generate(40, {}, 7)), 2315617367464060587ULL) << "er";
  EXPECT_EQ(fingerprint(gen("ba").generate(40, {}, 7)), 13978810305596908367ULL) << "ba";
  EXPECT_EQ(fingerprint(gen("ws").generate(40, {}, 7)), 16656621559887515878ULL) << "ws";
  EXPECT_EQ(fingerprint(gen("dp").generate(40, {}, 7)), 5510916636179789949ULL) << "dp";
}

// ---------------------------------------------------------------- definitions

TEST_F(AGenerator, ErMeanEdgeCountMatchesPTimesPairs) {
  const int n = 40;
  const double p = 0.2;
  const int runs = 400;
  double total = 0;
  for (int s = 0; s < runs; ++s) total += gen("er").generate(n, {{"p", p}}, s).num_edges();
  const double pairs = n * (n - 1) / 2.0;
  const double sd_of_mean = std::sqrt(pairs * p * (1 - p) / runs);
  EXPECT_NEAR(total / runs, p * pairs, 4 * sd_of_mean);
}

TEST_F(AGenerator, ErWithExtremeProbabilitiesGivesEmptyAndCompleteGraphs) {
  EXPECT_EQ(gen("er").generate(12, {{"p", 0}}, 1).num_edges(), 0);
  EXPECT_EQ(gen("er").generate(12, {{"p", 1}}, 1).num_edges(), 66);
}

TEST_F(AGenerator, BaHasExactlyMTimesNMinusMEdges) {
  for (int m : {1, 2, 5, 9})
    for (int s = 0; s < 50; ++s) {
      const auto g = gen("ba").generate(30, {{"m", double(m)}}, s);
      ASSERT_EQ(g.num_edges(), m * (30 - m)) << "m=" << m << " seed=" << s;
    }
}

TEST_F(AGenerator, BaGivesEveryAddedVertexAtLeastMEdgesAndLeavesNoVertexIsolated) {
  const int m = 5;
  for (int s = 0; s < 50; ++s) {
    const auto deg = gen("ba").generate(40, {{"m", double(m)}}, s).degrees();
    for (int v = 0; v < 40; ++v) ASSERT_GE(deg[v], v < m ? 1 : m) << "vertex " << v;
    EXPECT_EQ(deg[39], m);  // the last vertex gets exactly its own m edges
  }
}

TEST_F(AGenerator, BaAttachesPreferentiallyToEarlyVertices) {
  // Early vertices gather edges: their mean degree far exceeds that of late ones.
  double early = 0;
  double late = 0;
  for (int s = 0; s < 100; ++s) {
    const auto deg = gen("ba").generate(60, {{"m", 3}}, s).degrees();
    early += deg[3];
    late += deg[55];
  }
  EXPECT_GT(early, 2.0 * late);
}

TEST_F(AGenerator, WsHasExactlyNTimesKOverTwoEdges) {
  for (int k : {2, 4, 6})
    for (double p : {0.0, 0.3, 0.75, 1.0})
      for (int s = 0; s < 30; ++s)
        ASSERT_EQ(gen("ws").generate(20, {{"k", double(k)}, {"p", p}}, s).num_edges(), 20 * k / 2);
}

TEST_F(AGenerator, WsWithoutRewiringIsTheRingLattice) {
  const auto g = gen("ws").generate(10, {{"k", 4}, {"p", 0}}, 3);
  for (const auto& e : g.edges()) {
    const int d = std::min(e.v - e.u, 10 - (e.v - e.u));
    EXPECT_LE(d, 2);
  }
  EXPECT_EQ(g.num_edges(), 20);
}

TEST_F(AGenerator, WsRewiresAboutPOfTheRingEdges) {
  // A rewired edge leaves the lattice (ring distance > k/2) unless it lands back on it.
  double far = 0;
  const int runs = 100;
  for (int s = 0; s < runs; ++s) {
    const auto g = gen("ws").generate(100, {{"k", 4}, {"p", 0.5}}, s);
    for (const auto& e : g.edges()) far += std::min(e.v - e.u, 100 - (e.v - e.u)) > 2;
  }
  const double fraction = far / (runs * 200.0);
  EXPECT_GT(fraction, 0.40);
  EXPECT_LT(fraction, 0.52);
}

TEST_F(AGenerator, DpMeanEdgeCountMatchesTheFormula) {
  struct Case {
    int n;
    double alpha, beta, p;
  };
  for (const Case c : {Case{40, 1, 2, 0.75}, Case{41, 0.8, 1, 0.6}, Case{80, 1.5, 2, 0.7}}) {
    const int runs = 300;
    double total = 0;
    for (int s = 0; s < runs; ++s)
      total += gen("dp").generate(c.n, {{"alpha", c.alpha}, {"beta", c.beta}, {"p", c.p}}, s)
                   .num_edges();
    double variance = 0;  // of one graph's edge count: sum of q(1-q) over pairs
    for (int u = 0; u < c.n; ++u)
      for (int v = u + 1; v < c.n; ++v) {
        const int d = std::min(v - u, c.n - (v - u));
        const double q = std::min(1.0, c.alpha * std::pow(c.p, c.beta * d));
        variance += q * (1 - q);
      }
    const double expected = dp_expected_edges(c.n, c.alpha, c.beta, c.p);
    EXPECT_NEAR(total / runs, expected, 4 * std::sqrt(variance / runs) + 1e-9) << "n=" << c.n;
  }
}

TEST(ADpFormula, CountsAntipodalPairsOnceForEvenN) {
  // beta = 0 links every pair with probability alpha: the formula must give all pairs.
  EXPECT_DOUBLE_EQ(dp_expected_edges(10, 1, 0, 0.5), 45);
  EXPECT_DOUBLE_EQ(dp_expected_edges(11, 1, 0, 0.5), 55);
  EXPECT_DOUBLE_EQ(dp_expected_edges(10, 0.5, 0, 0.5), 22.5);
}

TEST_F(AGenerator, DpLinksPairsAtEachRingDistanceWithTheirProbability) {
  // Per distance d the empirical link rate must match min(1, alpha * p^(beta*d)).
  const int n = 40;
  const int runs = 200;
  std::vector<double> linked(n / 2 + 1, 0);
  for (int s = 0; s < runs; ++s) {
    const auto g = gen("dp").generate(n, {}, s);
    for (const auto& e : g.edges()) linked[std::min(e.v - e.u, n - (e.v - e.u))] += 1;
  }
  for (int d = 1; d <= 5; ++d) {
    const double expected = std::pow(0.75, 2.0 * d);
    const double rate = linked[d] / (runs * double(n));  // n pairs at each distance d < n/2
    EXPECT_NEAR(rate, expected, 4 * std::sqrt(expected * (1 - expected) / (runs * n))) << "d=" << d;
  }
}

TEST_F(AGenerator, DefaultsFollowRandWireAndTheEdge23Paper) {
  EXPECT_EQ(gen("er").resolve({}).get("p"), 0.2);
  EXPECT_EQ(gen("ba").resolve({}).get("m"), 5);
  EXPECT_EQ(gen("ws").resolve({}).get("k"), 4);
  EXPECT_EQ(gen("ws").resolve({}).get("p"), 0.75);
  EXPECT_EQ(gen("dp").resolve({}).get("alpha"), 1);
  EXPECT_EQ(gen("dp").resolve({}).get("beta"), 2);
  EXPECT_EQ(gen("dp").resolve({}).get("p"), 0.75);
}

// ---------------------------------------------------------------- bad input

void expect_invalid(const std::function<void()>& f, const std::string& fragment) {
  concnas::testing::expect_error_containing<InvalidArgument>(f, fragment);
}

TEST_F(AGenerator, RejectsBadNodeCountsAndParameters) {
  expect_invalid([&] { gen("er").generate(1, {}, 0); }, "at least 2 nodes");
  expect_invalid([&] { gen("er").generate(10, {{"p", 1.5}}, 0); }, "p=1.5");
  expect_invalid([&] { gen("er").generate(10, {{"p", -0.1}}, 0); }, "[0, 1]");
  expect_invalid([&] { gen("er").generate(10, {{"q", 0.1}}, 0); }, "no parameter 'q'");
  expect_invalid([&] { gen("ws").generate(10, {{"k", 3}}, 0); }, "k=3");
  expect_invalid([&] { gen("ws").generate(10, {{"k", 10}}, 0); }, "smaller than nodes");
  expect_invalid([&] { gen("ws").generate(10, {{"k", 2.5}}, 0); }, "integer");
  expect_invalid([&] { gen("ws").generate(10, {{"p", 2}}, 0); }, "p=2");
  expect_invalid([&] { gen("ba").generate(10, {{"m", 10}}, 0); }, "m=10");
  expect_invalid([&] { gen("ba").generate(10, {{"m", 0}}, 0); }, "m=0");
  expect_invalid([&] { gen("dp").generate(10, {{"p", 1.2}}, 0); }, "p=1.2");
  expect_invalid([&] { gen("dp").generate(10, {{"alpha", -1}}, 0); }, "alpha=-1");
}

TEST_F(AGenerator, RegistryNamesTheKnownGeneratorsForAnUnknownOne) {
  expect_invalid([&] { registry_.get("xyz"); }, "unknown generator 'xyz' (known: er, ba, ws, dp)");
  EXPECT_THROW(registry_.add(make_er_generator()), InvalidArgument);
}

}  // namespace
}  // namespace concnas::graph
