// The `--set` flags and error lines that every config with its own section on top of the
// training sections shares (`concnas lcp`, `concnas policy`).
#include <fmt/format.h>

#include "concnas/common/error.h"
#include "train_sections.h"

namespace concnas::config::detail {

std::vector<std::string> apply_section_overrides(YAML::Node root, const std::vector<std::string>& overrides,
                                                 const std::string& section, const std::string& source) {
  std::vector<std::string> rest;
  for (const auto& item : overrides) {
    const auto flag = split_set_flag(item);
    if (flag.section != section) {
      CONCNAS_CHECK(flag.section == "arch" || flag.section == "data" || flag.section == "train",
                    "--set {}.{}: unknown section '{}' (sections: arch, data, train, {})", flag.section, flag.key,
                    flag.section, section);
      rest.push_back(item);
      continue;
    }
    if (!root[section]) root[section] = YAML::Node(YAML::NodeType::Map);
    YAML::Node node = root[section];
    if (!node.IsMap())
      throw ParseError(source, node.Mark().line >= 0 ? node.Mark().line + 1 : 0,
                       fmt::format("{}: must be a mapping of keys to values (--set {} sets a key of it)", section,
                                   item));
    node[flag.key] = flag.value;
  }
  return rest;
}

void check_at_key_line(const YAML::Node& root, const std::string& source, const std::function<void()>& check) {
  try {
    check();
  } catch (const InvalidArgument& e) {
    const std::string what = e.what();
    const std::string key = what.substr(0, what.find(':'));
    const auto dot = key.find('.');
    YAML::Node n = dot == std::string::npos ? YAML::Node() : root[key.substr(0, dot)];
    if (n && n.IsMap() && n[key.substr(dot + 1)]) n = n[key.substr(dot + 1)];
    throw ParseError(source, n && n.Mark().line >= 0 ? n.Mark().line + 1 : 0, what);
  }
}

}  // namespace concnas::config::detail
