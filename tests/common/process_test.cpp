#include "concnas/common/process.h"

#include <gtest/gtest.h>

namespace concnas {
namespace {

TEST(AProgram, IsFoundOnThePathOrNot) {
  EXPECT_TRUE(program_on_path("sh"));
  EXPECT_FALSE(program_on_path("concnas-no-such-program"));
}

TEST(AProgram, RunsWithoutAShellAndReportsItsExitStatus) {
  EXPECT_EQ(run_program({"sh", "-c", "exit 0"}), 0);
  EXPECT_EQ(run_program({"sh", "-c", "exit 3"}), 3);
  // An argument with shell syntax is passed as it is, not interpreted.
  EXPECT_EQ(run_program({"test", "a;b", "=", "a;b"}), 0);
  EXPECT_EQ(run_program({"concnas-no-such-program"}), -1);
  EXPECT_EQ(run_program({}), -1);
}

}  // namespace
}  // namespace concnas
