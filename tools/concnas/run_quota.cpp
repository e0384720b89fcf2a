// concnas run --cpu-quota: a worker held to a fraction of its cores' time (a slower
// device on this machine), by a control group of its own (concnas/common/cpu_quota.h).
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "concnas/common/error.h"
#include "run_args.h"

namespace concnas::cli {
namespace {

double parse_fraction(const std::string& entry, const std::string& text, int cores) {
  char* end = nullptr;
  const double f = std::strtod(text.c_str(), &end);
  CONCNAS_CHECK(!text.empty() && end == text.c_str() + text.size() && f > 0 && f <= 1,
                "--cpu-quota '{}': the fraction of a core's time must be a number in (0, 1]", entry);
  CONCNAS_CHECK(f * cores >= 0.001, "--cpu-quota '{}': {} core(s) at that fraction is under the least quota, "
                "0.001 of a core", entry, cores);
  return f;
}

}  // namespace

double cpu_quota_of(const RunArgs& a, int rank, int units) {
  double fraction = 0;
  for (const auto& entry : a.cpu_quota) {
    const auto eq = entry.find('=');
    if (eq == std::string::npos) {
      CONCNAS_CHECK(!a.local, "--cpu-quota '{}': with --local, say which worker: UNIT=FRACTION, e.g. 1=0.5",
                    entry);
      fraction = parse_fraction(entry, entry, a.cores);
      continue;
    }
    const auto unit_text = entry.substr(0, eq);
    char* end = nullptr;
    const long unit = std::strtol(unit_text.c_str(), &end, 10);
    CONCNAS_CHECK(!unit_text.empty() && end == unit_text.c_str() + unit_text.size() && unit >= 0 && unit < units,
                  "--cpu-quota '{}': the unit must be one of 0..{} of the plan", entry, units - 1);
    const double f = parse_fraction(entry, entry.substr(eq + 1), a.cores);
    if (unit == rank) fraction = f;
  }
  return fraction;
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
