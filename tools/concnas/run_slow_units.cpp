// concnas run --cpu-quota and --slowdown: a worker made a slower device on this machine.
// --cpu-quota holds it to a fraction of its cores' time by a control group of its own
// (concnas/common/cpu_quota.h); --slowdown makes each of its compute steps take longer
// (deploy::WorkerOptions::slowdown).
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>

#include "concnas/common/error.h"
#include "run_args.h"

namespace concnas::cli {
namespace {

bool parse_number(const std::string& text, double* out) {
  char* end = nullptr;
  *out = std::strtod(text.c_str(), &end);
  return !text.empty() && end == text.c_str() + text.size();
}

// Worker `rank`'s value among `entries` of `flag`: VALUE (the one worker of this process)
// or UNIT=VALUE (with --local, each listed unit); 0 when none names it. `check` throws on a
// bad value.
double unit_setting(const RunArgs& a, const std::vector<std::string>& entries, const char* flag, const char* value_name,
                    int rank, int units,
                    const std::function<void(const std::string& entry, bool ok, double value)>& check) {
  double setting = 0;
  for (const auto& entry : entries) {
    const auto eq = entry.find('=');
    bool mine = true;  // a plain VALUE is this worker's
    if (eq == std::string::npos) {
      CONCNAS_CHECK(!a.local, "{} '{}': with --local, say which worker: UNIT={}, e.g. 1={}", flag, entry, value_name,
                    entry);
    } else {
      const auto unit_text = entry.substr(0, eq);
      char* end = nullptr;
      const long unit = std::strtol(unit_text.c_str(), &end, 10);
      CONCNAS_CHECK(!unit_text.empty() && end == unit_text.c_str() + unit_text.size() && unit >= 0 && unit < units,
                    "{} '{}': the unit must be one of 0..{} of the plan", flag, entry, units - 1);
      mine = unit == rank;
    }
    double value = 0;
    const bool ok = parse_number(eq == std::string::npos ? entry : entry.substr(eq + 1), &value);
    check(entry, ok, value);
    if (mine) setting = value;
  }
  return setting;
}

}  // namespace

double cpu_quota_of(const RunArgs& a, int rank, int units) {
  return unit_setting(a, a.cpu_quota, "--cpu-quota", "FRACTION", rank, units, [&](const std::string& entry, bool ok, double f) {
    CONCNAS_CHECK(ok && f > 0 && f <= 1, "--cpu-quota '{}': the fraction of a core's time must be a number in (0, 1]",
                  entry);
    CONCNAS_CHECK(f * a.cores >= 0.001, "--cpu-quota '{}': {} core(s) at that fraction is under the least quota, "
                  "0.001 of a core", entry, a.cores);
  });
}

double slowdown_of(const RunArgs& a, int rank, int units) {
  const double s = unit_setting(a, a.slowdown, "--slowdown", "FACTOR", rank, units, [](const std::string& entry, bool ok, double f) {
    CONCNAS_CHECK(ok && f >= 1 && f <= 100, "--slowdown '{}': the factor must be a number in [1, 100]", entry);
  });
  return s > 0 ? s : 1;
}

std::unique_ptr<CpuQuota> apply_cpu_quota(const RunArgs& a, int units) {
  const double fraction = cpu_quota_of(a, a.rank, units);
  if (fraction <= 0) return nullptr;
  auto quota = std::make_unique<CpuQuota>(0, fraction, a.cores);
  std::fprintf(stderr, "worker %d: held to %g of %d core%s (control group %s)\n", a.rank, fraction, a.cores,
               a.cores == 1 ? "" : "s", quota->group().c_str());
  return quota;
}

}  // namespace concnas::cli
