#pragma once
/// \file
/// A slower device on this machine: a process held to a share of its cores' time by a
/// Linux control group, so that "a device half as fast" is measured, not only simulated.
///
///     concnas::CpuQuota slow(getpid(), /*fraction=*/0.5, /*cores=*/1);  // half a core
///     ...                      // this process now gets at most 1 ms of CPU per 2 ms
///
/// It uses cgroup v2's `cpu.max` where the v2 hierarchy has the cpu controller, otherwise
/// cgroup v1's cpu controller (`cpu.cfs_quota_us` over `cpu.cfs_period_us`). Either way
/// it needs root (or a delegated group). The group, named after the process, is removed
/// when the quota goes: the process is moved back to the group it came from first.

#include <sys/types.h>

#include <string>

namespace concnas {

class CpuQuota {
 public:
  /// Holds process `pid` (0: this one), with all its threads, to `fraction` of `cores`
  /// cores: `fraction` · `cores` CPU-seconds per second, enforced every 2 ms (longer for
  /// quotas under a millisecond per 2 ms). Work in bursts shorter than that with idle time
  /// between runs at full speed; work that keeps the process busy is slowed by
  /// `fraction`. Throws `InvalidArgument` on a fraction outside (0, 1], fewer than one
  /// core or under 0.001 of a core in all, and `IoError` naming the file when no cpu
  /// controller is mounted or its files cannot be written.
  CpuQuota(pid_t pid, double fraction, int cores);
  ~CpuQuota();
  CpuQuota(const CpuQuota&) = delete;
  CpuQuota& operator=(const CpuQuota&) = delete;

  /// The group's folder, e.g. /sys/fs/cgroup/cpu/concnas-1234.
  const std::string& group() const { return group_; }
  /// Times the group was held back for using up its quota (cpu.stat's nr_throttled).
  long long throttled_periods() const;

  /// Removes the group a quota of process `pid` left behind when that process was killed
  /// before its quota went (a launcher calls it for every worker it reaps).
  static void remove_left_by(pid_t pid);

  /// Why no quota can be set here, or "" when one can (the controller is mounted and its
  /// root-level files are writable by this process).
  static std::string unavailable_reason();

 private:
  pid_t pid_;
  std::string group_;   // the new group's folder
  std::string parent_;  // the group `pid_` came from, to move it back
};

}  // namespace concnas
