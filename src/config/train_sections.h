#pragma once
// The data/train (and arch) sections of a config, shared by the train and search config
// parsers (private to src/config).

#include <yaml-cpp/yaml.h>

#include <functional>
#include <initializer_list>
#include <string>
#include <vector>

#include "concnas/config/train_config.h"
#include "schema.h"

namespace concnas::config::detail {

/// One `--set section.key=value` flag, split; `value` parsed as YAML. Throws
/// `InvalidArgument` naming the flag when it is not of that form or its value is not YAML.
struct SetFlag {
  std::string section;
  std::string key;     ///< everything between the first dot and the '='
  YAML::Node value;
};
SetFlag split_set_flag(const std::string& item);

/// Sets the `--set` flags of section `section` in `root[section]` (made when missing) and
/// returns the others, which must be of arch, data or train. Throws `InvalidArgument` on
/// another section, `ParseError` when `root[section]` is not a mapping.
std::vector<std::string> apply_section_overrides(YAML::Node root, const std::vector<std::string>& overrides,
                                                 const std::string& section, const std::string& source);

/// Runs `check`; an `InvalidArgument` "section.key: ..." it throws becomes a `ParseError` of
/// `source` at that key's line in `root` (line 0 when the file does not give the key).
void check_at_key_line(const YAML::Node& root, const std::string& source, const std::function<void()>& check);

/// Throws `InvalidArgument` naming `key` when `value` is not one of `allowed`.
void check_one_of(const std::string& value, std::initializer_list<const char*> allowed,
                  const std::string& key);

/// The document of a config file as a mapping (an empty file is an empty mapping).
YAML::Node load_config_root(const std::string& text, const std::string& source);

/// Reads the arch, data and train sections of `root` (other keys are the caller's to
/// check) with `overrides` (section.key=value for those sections) applied on top.
TrainConfig parse_train_sections(YAML::Node root, const std::string& source,
                                 const std::vector<std::string>& overrides);

/// The keys of the arch, data and train sections.
const Schema<TrainConfig>& train_schema();

/// The given sections ("arch", "data", "train") with every key, as YAML.
std::string sections_to_yaml(const TrainConfig& config, const std::vector<std::string>& sections);

}  // namespace concnas::config::detail
