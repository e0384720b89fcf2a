#include "concnas/search/policy_traffic.h"

#include "concnas/arch/families.h"
#include "concnas/deploy/plan.h"

namespace concnas::search {

PolicyTraffic policy_traffic(const arch::Architecture& a, int groups) {
  const auto plan = deploy::make_plan(a, arch::family_parts(a, groups), groups);
  PolicyTraffic t;
  t.plan_bytes = plan.bytes_per_image();
  for (const auto& transfer : plan.transfers)
    if (transfer.vertex < a.dag.num_compute())
      t.exchange_bytes += transfer.bytes * static_cast<std::int64_t>(transfer.to.size());
  return t;
}

}  // namespace concnas::search
