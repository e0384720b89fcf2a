#include "concnas/graph/edge_file.h"

#include <gtest/gtest.h>

#include "support/expect_error.h"

#include "concnas/common/error.h"

namespace concnas::graph {
namespace {

void expect_parse_error(const std::string& text, int line, const std::string& fragment) {
  concnas::testing::expect_parse_error_at([&] { parse_edge_list(text, "g.txt"); }, line, fragment);
  concnas::testing::expect_error_containing<ParseError>([&] { parse_edge_list(text, "g.txt"); }, "g.txt");
}

TEST(AnEdgeFile, ReadsEdgesCommentsAndBlankLines) {
  const auto dag = parse_edge_list("# a net\n0 1\n\n  1 2   # trailing\n0 2\n", "g.txt");
  EXPECT_EQ(dag.num_compute(), 3);
  EXPECT_EQ(dag.compute_arcs(), (std::vector<Arc>{{0, 1}, {0, 2}, {1, 2}}));
}

TEST(AnEdgeFile, CountsIsolatedVerticesDeclaredByNodes) {
  const auto dag = parse_edge_list("nodes 5\n0 1\n", "g.txt");
  EXPECT_EQ(dag.num_compute(), 5);
  EXPECT_EQ(dag.successors(dag.input()), (std::vector<int>{0, 2, 3, 4}));
}

TEST(AnEdgeFile, KeepsTheGivenDirection) {
  const auto dag = parse_edge_list("2 0\n0 1\n", "g.txt");
  EXPECT_EQ(dag.predecessors(0), std::vector<int>{2});
}

TEST(AnEdgeFile, RejectsMalformedLinesWithTheirLineNumber) {
  expect_parse_error("0 1\n1 x\n", 2, "expected an edge");
  expect_parse_error("0 1 2\n", 1, "expected an edge");
  expect_parse_error("0 -1\n", 1, "expected an edge");
  expect_parse_error("0 1\n3 3\n", 2, "self loop");
  expect_parse_error("0 1\n\n0 1\n", 3, "repeats line 1");
  expect_parse_error("nodes 3\n0 3\n", 2, "outside 0..2");
  expect_parse_error("0 1\nnodes 3\n", 2, "before the first edge");
  expect_parse_error("nodes many\n", 1, "positive integer");
  expect_parse_error("nodes 0\n", 1, "positive integer");
}

TEST(AnEdgeFile, RejectsCyclesAndEmptyFiles) {
  expect_parse_error("0 1\n1 2\n2 0\n", 0, "cycle");
  expect_parse_error("# nothing\n", 0, "no edges");
}

TEST(AnEdgeFile, NamesAMissingFile) {
  try {
    read_edge_file("/nonexistent/g.txt");
    FAIL();
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/g.txt"), std::string::npos);
  }
}

}  // namespace
}  // namespace concnas::graph

namespace concnas::graph {
namespace {

TEST(AnEdgeFile, RefusesMoreVerticesThanANetworkMayHave) {
  concnas::testing::expect_parse_error_at([] { parse_edge_list("nodes 2147483646\n0 1\n", "g.txt"); }, 1,
                                          "at most 1000000 vertices");
}

}  // namespace
}  // namespace concnas::graph
