#include "concnas/common/param_map.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>

#include "concnas/common/error.h"

namespace concnas {

ParamMap ParamMap::parse(const std::vector<std::string>& items) {
  ParamMap out;
  for (const auto& item : items) {
    const auto eq = item.find('=');
    CONCNAS_CHECK(eq != std::string::npos && eq > 0,
                  "parameter '{}' is not of the form KEY=VALUE", item);
    const std::string key = item.substr(0, eq);
    const std::string text = item.substr(eq + 1);
    char* end = nullptr;
    errno = 0;
    const double value = std::strtod(text.c_str(), &end);
    CONCNAS_CHECK(!text.empty() && end == text.c_str() + text.size() && errno == 0 &&
                      std::isfinite(value),
                  "parameter '{}': '{}' is not a finite number", key, text);
    CONCNAS_CHECK(!out.contains(key), "parameter '{}' given twice", key);
    out.set(key, value);
  }
  return out;
}

double ParamMap::get(const std::string& key) const {
  const auto it = values_.find(key);
  CONCNAS_CHECK(it != values_.end(), "parameter '{}' is not set", key);
  return it->second;
}

std::string format_number(double value) { return fmt::format("{}", value); }

}  // namespace concnas
