#pragma once
// The keys of the search config's own sections (private to src/config).

#include "concnas/search/search_config.h"
#include "schema.h"

namespace concnas::config::detail {

const Schema<search::SearchConfig>& search_schema();

}  // namespace concnas::config::detail
