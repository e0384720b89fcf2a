#include "concnas/common/cpu_quota.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "concnas/common/error.h"
#include "concnas/common/param_map.h"

namespace concnas {
namespace {

// The quota is enforced every 2 ms (longer where the quota would be under the kernel's
// least, 1 ms). Longer periods let a worker run at full speed and then stall (a 100 ms
// period at half a core: 50 ms of work, 50 ms of nothing), which halves throughput but
// leaves most inferences' latency as it was. 1 ms periods are enforced loosely: measured
// on a 1.8 ms inference at half a core, 1.4x slower at 1 ms and 2.2x at 2 ms.
constexpr long long kPeriodUs = 2000;
constexpr long long kLeastQuotaUs = 1000;
constexpr double kLeastShare = 0.001;  // 1 ms per second: the longest period's least quota

// Where the cpu controller is mounted and which of its groups `pid` is in.
struct Hierarchy {
  bool v2 = false;
  std::string mount;
  std::string group_of_pid;  // e.g. "/" or "/user.slice"
};

std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> parts;
  std::stringstream in(text);
  for (std::string part; std::getline(in, part, sep);) parts.push_back(part);
  return parts;
}

bool has_word(const std::string& text, char sep, const std::string& word) {
  for (const auto& w : split(text, sep))
    if (w == word) return true;
  return false;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw IoError(fmt::format("cannot read {}: {}", path, std::strerror(errno)));
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The mount point of the cgroup file system that has the cpu controller, if any.
bool find_mount(Hierarchy& h) {
  std::ifstream mounts("/proc/self/mounts");
  for (std::string line; std::getline(mounts, line);) {
    const auto f = split(line, ' ');  // device mount type options ...
    if (f.size() < 4) continue;
    if (f[2] == "cgroup" && has_word(f[3], ',', "cpu")) {
      h.mount = f[1];
      return true;
    }
    if (f[2] == "cgroup2") {
      std::ifstream c(f[1] + "/cgroup.controllers");
      std::string controllers;
      std::getline(c, controllers);
      if (has_word(controllers, ' ', "cpu")) {
        h.v2 = true;
        h.mount = f[1];
        return true;
      }
    }
  }
  return false;
}

// "N:controllers:/path" lines: the path in the hierarchy found (v2: "0::/path").
std::string group_of(pid_t pid, bool v2) {
  const std::string file = pid ? fmt::format("/proc/{}/cgroup", pid) : "/proc/self/cgroup";
  for (const auto& line : split(read_text(file), '\n')) {
    const auto first = line.find(':');
    const auto second = line.find(':', first + 1);
    if (first == std::string::npos || second == std::string::npos) continue;
    const auto controllers = line.substr(first + 1, second - first - 1);
    if (v2 ? controllers.empty() : has_word(controllers, ',', "cpu")) return line.substr(second + 1);
  }
  throw IoError(fmt::format("{} names no group of the cpu controller", file));
}

Hierarchy locate(pid_t pid) {
  Hierarchy h;
  if (!find_mount(h))
    throw IoError("no cgroup file system with the cpu controller is mounted (see /proc/self/mounts)");
  h.group_of_pid = group_of(pid, h.v2);
  return h;
}

void write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text << std::flush;
  if (!out) throw IoError(fmt::format("cannot write '{}' to {}: {}", text, path, std::strerror(errno)));
}

void set_quota(const Hierarchy& h, const std::string& group, long long quota_us, long long period_us) {
  if (h.v2) {
    write_text(group + "/cpu.max", fmt::format("{} {}", quota_us, period_us));
  } else {
    write_text(group + "/cpu.cfs_period_us", std::to_string(period_us));
    write_text(group + "/cpu.cfs_quota_us", std::to_string(quota_us));
  }
}

}  // namespace

CpuQuota::CpuQuota(pid_t pid, double fraction, int cores) : pid_(pid ? pid : getpid()) {
  CONCNAS_CHECK(fraction > 0 && fraction <= 1, "a CPU quota must be a fraction in (0, 1], got {}",
                format_number(fraction));
  CONCNAS_CHECK(cores >= 1, "a CPU quota needs at least one core, got {}", cores);
  const double share = fraction * cores;  // CPU-seconds per second
  CONCNAS_CHECK(share >= kLeastShare, "a CPU quota of {} of {} core(s) is below the kernel's least, {}",
                format_number(fraction), cores, format_number(kLeastShare));
  const long long period_us = std::max(kPeriodUs, std::llround(std::ceil(kLeastQuotaUs / share)));
  const Hierarchy h = locate(pid_);
  parent_ = h.mount + (h.group_of_pid == "/" ? "" : h.group_of_pid);
  group_ = fmt::format("{}/concnas-{}", parent_, pid_);
  // v2: the parent must hand the cpu controller down to its children.
  if (h.v2) write_text(parent_ + "/cgroup.subtree_control", "+cpu");
  if (mkdir(group_.c_str(), 0755) != 0 && errno != EEXIST)
    throw IoError(fmt::format("cannot create the control group {}: {} (needs root)", group_, std::strerror(errno)));
  try {
    set_quota(h, group_, std::llround(share * static_cast<double>(period_us)), period_us);
    write_text(group_ + "/cgroup.procs", std::to_string(pid_));
  } catch (...) {
    rmdir(group_.c_str());
    throw;
  }
}

CpuQuota::~CpuQuota() {
  // An exited process has left the group already; a live one goes back where it came
  // from first. Its last task can take a moment to leave after an exit.
  if (rmdir(group_.c_str()) == 0 || errno != EBUSY) return;
  std::ofstream(parent_ + "/cgroup.procs") << pid_ << std::flush;
  for (int attempt = 0; attempt < 100 && rmdir(group_.c_str()) != 0 && errno == EBUSY; ++attempt)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
}

void CpuQuota::remove_left_by(pid_t pid) {
  try {
    const Hierarchy h = locate(0);
    rmdir(fmt::format("{}{}/concnas-{}", h.mount, h.group_of_pid == "/" ? "" : h.group_of_pid, pid).c_str());
  } catch (const IoError&) {
    // No cpu controller: no group was made.
  }
}

long long CpuQuota::throttled_periods() const {
  for (const auto& line : split(read_text(group_ + "/cpu.stat"), '\n')) {
    const auto f = split(line, ' ');
    if (f.size() == 2 && f[0] == "nr_throttled") return std::stoll(f[1]);
  }
  throw IoError(group_ + "/cpu.stat has no nr_throttled line");
}

std::string CpuQuota::unavailable_reason() {
  try {
    const Hierarchy h = locate(0);
    const auto parent = h.mount + (h.group_of_pid == "/" ? "" : h.group_of_pid);
    // v2 lets no group but the root both hold processes and hand controllers down.
    if (h.v2 && h.group_of_pid != "/")
      return fmt::format("cgroup v2: this process is in {}, not the root group, so no group of its own can get "
                         "the cpu controller (run it under a delegated group)", parent);
    if (access(parent.c_str(), W_OK) != 0)
      return fmt::format("cannot create control groups in {}: {} (needs root)", parent, std::strerror(errno));
    return "";
  } catch (const IoError& e) {
    return e.what();
  }
}

}  // namespace concnas
