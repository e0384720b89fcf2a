#include "concnas/common/param_map.h"

#include <gtest/gtest.h>

#include "concnas/common/error.h"

namespace concnas {
namespace {

TEST(AParamMap, ParsesKeyValuePairs) {
  const auto p = ParamMap::parse({"p=0.75", "k=4", "alpha=1e-2"});
  EXPECT_EQ(p.get("p"), 0.75);
  EXPECT_EQ(p.get("k"), 4);
  EXPECT_EQ(p.get("alpha"), 0.01);
}

TEST(AParamMap, RejectsMalformedItems) {
  EXPECT_THROW(ParamMap::parse({"p"}), InvalidArgument);
  EXPECT_THROW(ParamMap::parse({"=3"}), InvalidArgument);
  EXPECT_THROW(ParamMap::parse({"p="}), InvalidArgument);
  EXPECT_THROW(ParamMap::parse({"p=abc"}), InvalidArgument);
  EXPECT_THROW(ParamMap::parse({"p=0.5x"}), InvalidArgument);
  EXPECT_THROW(ParamMap::parse({"p=nan"}), InvalidArgument);
  EXPECT_THROW(ParamMap::parse({"p=1", "p=2"}), InvalidArgument);
  EXPECT_THROW(ParamMap().get("missing"), InvalidArgument);
}

TEST(AFormattedNumber, IsTheShortestTextThatReadsBack) {
  EXPECT_EQ(format_number(0.2), "0.2");
  EXPECT_EQ(format_number(4), "4");
  EXPECT_EQ(format_number(0.75), "0.75");
  for (double x : {0.1, 1.0 / 3, 1e-7, 123456.789})
    EXPECT_EQ(std::stod(format_number(x)), x);
}

}  // namespace
}  // namespace concnas
