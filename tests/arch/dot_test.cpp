#include "concnas/arch/dot.h"

#include <gtest/gtest.h>

#include "support/tiny_network.h"

#include "concnas/common/error.h"

namespace concnas::arch {
namespace {

Architecture small() {
  auto a = concnas::testing::tiny_network();
  a.name = "small";
  return a;
}

TEST(ADotExport, LabelsEveryVertexWithChannelsAndResolution) {
  const auto dot = to_dot(small());
  EXPECT_EQ(dot.rfind("digraph \"small\" {", 0), 0u);
  EXPECT_NE(dot.find("n0 [label=\"v0 /2\\n8ch 4x4\""), std::string::npos) << dot;
  EXPECT_NE(dot.find("n1 [label=\"v1\\n4ch 8x8\""), std::string::npos);
  EXPECT_NE(dot.find("n3 [label=\"input\\n4ch 8x8\""), std::string::npos);
  EXPECT_NE(dot.find("n4 [label=\"output\\n8ch 4x4\""), std::string::npos);
}

TEST(ADotExport, DrawsEveryArcAndMarksScaledOnes) {
  const auto dot = to_dot(small());
  for (const char* arc : {"n3 -> n0;", "n3 -> n1;", "n0 -> n2;", "n2 -> n4;"})
    EXPECT_NE(dot.find(arc), std::string::npos) << arc;
  EXPECT_NE(dot.find("n1 -> n2 [style=dashed"), std::string::npos);
}

TEST(ADotExport, ColoursVerticesByUnit) {
  DotOptions o;
  o.unit_of = {0, 1, 1};
  const auto dot = to_dot(small(), o);
  EXPECT_NE(dot.find("n0 [label=\"v0 /2\\n8ch 4x4\", fillcolor=\"#8dd3c7\""), std::string::npos);
  EXPECT_NE(dot.find("n1 [label=\"v1\\n4ch 8x8\", fillcolor=\"#ffffb3\""), std::string::npos);
  o.unit_of = {0};
  EXPECT_THROW(to_dot(small(), o), InvalidArgument);
}

}  // namespace
}  // namespace concnas::arch
