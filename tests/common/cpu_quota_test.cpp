#include "concnas/common/cpu_quota.h"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>

#include "concnas/common/error.h"

namespace concnas {
namespace {

TEST(ACpuQuota, RefusesAFractionOutsideZeroToOneAndNoCores) {
  EXPECT_THROW(CpuQuota(0, 0.0, 1), InvalidArgument);
  EXPECT_THROW(CpuQuota(0, 1.5, 1), InvalidArgument);
  EXPECT_THROW(CpuQuota(0, 0.5, 0), InvalidArgument);
  EXPECT_THROW(CpuQuota(0, 0.0005, 1), InvalidArgument);  // under the kernel's least quota
}

// A child spinning for 0.6 s under a quota of a fifth of a core: the kernel holds it
// back (throttled periods) and it gets at most about that fifth of CPU time, however
// busy the machine is (CPU time is counted, not speed).
TEST(ACpuQuota, HoldsAProcessToItsShareOfACore) {
  const auto why = CpuQuota::unavailable_reason();
  if (!why.empty()) GTEST_SKIP() << "no CPU quota here: " << why;
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    usleep(100000);  // time for the parent to move it into the group
    const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(600);
    while (std::chrono::steady_clock::now() < end) {
    }
    _exit(0);
  }
  std::string group;
  long long throttled = 0;
  struct rusage usage {};
  {
    CpuQuota quota(child, 0.2, 1);
    group = quota.group();
    EXPECT_TRUE(std::filesystem::is_directory(group));
    int status = 0;
    ASSERT_EQ(wait4(child, &status, 0, &usage), child);
    throttled = quota.throttled_periods();
  }
  EXPECT_GT(throttled, 0);
  const double cpu_s = static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
                       static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) * 1e-6;
  EXPECT_LT(cpu_s, 0.6 * 0.5) << "the child used " << cpu_s << " s of CPU in 0.6 s";
  EXPECT_FALSE(std::filesystem::exists(group)) << "the group is removed with the quota";
}

}  // namespace
}  // namespace concnas
