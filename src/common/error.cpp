#include "concnas/common/error.h"

namespace concnas {

namespace {
std::string located(const std::string& file, int line, const std::string& what) {
  if (line > 0) return fmt::format("{}:{}: {}", file, line, what);
  return fmt::format("{}: {}", file, what);
}
}  // namespace

ParseError::ParseError(const std::string& file, int line, const std::string& what)
    : Error(located(file, line, what)), file_(file), line_(line), detail_(what) {}

}  // namespace concnas
