#pragma once
// The keys of plan.yaml (private to src/config).

#include <cstdint>
#include <string>

#include "schema.h"

namespace concnas::config::detail {

/// plan.yaml's scalar keys; the lists are checked against the architecture as they are read.
struct PlanHeader {
  std::string format = "concnas-plan";
  int version = 0;
  std::string architecture;
  std::string arch_file = "arch.yaml";
  std::string arch_checksum;
  int units = 1;
  std::int64_t bytes_per_image = 0;
  std::string hash;
};

const Schema<PlanHeader>& plan_schema();

}  // namespace concnas::config::detail
