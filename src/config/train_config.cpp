#include "concnas/config/train_config.h"

#include <algorithm>
#include <functional>
#include <map>

#include <fmt/ranges.h>

#include "concnas/common/atomic_file.h"
#include "train_sections.h"
#include "yaml_reader.h"

namespace concnas::config {
using detail::check_one_of;
namespace {

// One schema drives parsing, `--set` validation and the resolved YAML, so a key cannot be
// parsed but not written (or the other way round).
struct Field {
  std::string section;
  std::string key;
  std::function<void(TrainConfig&, const detail::Reader&, const YAML::Node&, const std::string&)> read;
  std::function<std::string(const TrainConfig&)> write;
};

template <typename T>
std::string plain(const T& v) {
  return fmt::format("{}", v);
}
std::string quoted(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

#define CONCNAS_INT_FIELD(sec, name, type)                                                   \
  Field {                                                                                    \
    #sec, #name,                                                                             \
        [](TrainConfig& c, const detail::Reader& r, const YAML::Node& n, const std::string& k) { \
          c.sec.name = r.scalar<type>(n, k, "an integer");                                   \
        },                                                                                   \
        [](const TrainConfig& c) { return plain(c.sec.name); }                               \
  }
#define CONCNAS_NUM_FIELD(sec, name)                                                         \
  Field {                                                                                    \
    #sec, #name,                                                                             \
        [](TrainConfig& c, const detail::Reader& r, const YAML::Node& n, const std::string& k) { \
          c.sec.name = r.number(n, k);                                                       \
        },                                                                                   \
        [](const TrainConfig& c) { return format_number(c.sec.name); }                       \
  }
#define CONCNAS_BOOL_FIELD(sec, name)                                                        \
  Field {                                                                                    \
    #sec, #name,                                                                             \
        [](TrainConfig& c, const detail::Reader& r, const YAML::Node& n, const std::string& k) { \
          c.sec.name = r.boolean(n, k);                                                      \
        },                                                                                   \
        [](const TrainConfig& c) { return std::string(c.sec.name ? "true" : "false"); }      \
  }
#define CONCNAS_STR_FIELD(sec, name)                                                         \
  Field {                                                                                    \
    #sec, #name,                                                                             \
        [](TrainConfig& c, const detail::Reader& r, const YAML::Node& n, const std::string& k) { \
          c.sec.name = r.string(n, k);                                                       \
        },                                                                                   \
        [](const TrainConfig& c) { return quoted(c.sec.name); }                              \
  }

const std::vector<Field>& schema() {
  static const std::vector<Field> fields{
      CONCNAS_STR_FIELD(arch, file),
      CONCNAS_STR_FIELD(arch, generator),
      CONCNAS_INT_FIELD(arch, nodes, int),
      Field{"arch", "params",
            [](TrainConfig& c, const detail::Reader& r, const YAML::Node& n, const std::string& k) {
              if (!n.IsMap()) r.fail(n, fmt::format("'{}' must be a mapping of numbers", k));
              c.arch.params = ParamMap();
              for (const auto& kv : n)
                c.arch.params.set(kv.first.as<std::string>(),
                                  r.number(kv.second, k + "." + kv.first.as<std::string>()));
            },
            [](const TrainConfig& c) {
              std::vector<std::string> items;
              for (const auto& [key, value] : c.arch.params.values())
                items.push_back(fmt::format("{}: {}", key, format_number(value)));
              return fmt::format("{{{}}}", fmt::join(items, ", "));
            }},
      CONCNAS_STR_FIELD(arch, orientation),
      CONCNAS_STR_FIELD(arch, staging),
      CONCNAS_NUM_FIELD(arch, stage_probability),
      CONCNAS_INT_FIELD(arch, seed, std::uint64_t),
      CONCNAS_INT_FIELD(arch, stem_channels, int),
      CONCNAS_INT_FIELD(arch, channel_limit, int),
      CONCNAS_INT_FIELD(arch, min_resolution, int),
      CONCNAS_STR_FIELD(arch, aggregation),
      CONCNAS_STR_FIELD(arch, baseline),
      CONCNAS_STR_FIELD(data, dataset),
      CONCNAS_STR_FIELD(data, path),
      CONCNAS_INT_FIELD(data, train_subset, std::int64_t),
      CONCNAS_INT_FIELD(data, validation, std::int64_t),
      CONCNAS_BOOL_FIELD(data, augment),
      CONCNAS_INT_FIELD(data, crop_padding, int),
      CONCNAS_STR_FIELD(data, flip),
      CONCNAS_INT_FIELD(data, synthetic_train, std::int64_t),
      CONCNAS_INT_FIELD(data, synthetic_test, std::int64_t),
      CONCNAS_INT_FIELD(data, synthetic_side, int),
      CONCNAS_INT_FIELD(data, synthetic_classes, int),
      CONCNAS_INT_FIELD(train, epochs, int),
      CONCNAS_INT_FIELD(train, max_steps, std::int64_t),
      CONCNAS_INT_FIELD(train, batch_size, int),
      CONCNAS_NUM_FIELD(train, lr),
      CONCNAS_NUM_FIELD(train, momentum),
      CONCNAS_BOOL_FIELD(train, nesterov),
      CONCNAS_NUM_FIELD(train, weight_decay),
      CONCNAS_NUM_FIELD(train, label_smoothing),
      CONCNAS_NUM_FIELD(train, warmup_epochs),
      CONCNAS_INT_FIELD(train, threads, int),
      CONCNAS_INT_FIELD(train, batch_split, int),
      CONCNAS_STR_FIELD(train, kernels),
      CONCNAS_INT_FIELD(train, seed, std::uint64_t),
      CONCNAS_INT_FIELD(train, eval_batch_size, int),
  };
  return fields;
}

const char* kSections[] = {"arch", "data", "train"};

std::vector<std::string> keys_of(const std::string& section) {
  std::vector<std::string> out;
  for (const auto& f : schema())
    if (f.section == section) out.push_back(f.key);
  return out;
}

}  // namespace

void TrainConfig::sanity_check() const {
  if (arch.file.empty()) {
    check_one_of(arch.generator, {"er", "ba", "ws", "dp"}, "arch.generator");
    CONCNAS_CHECK(arch.nodes >= 2, "arch.nodes: {} must be at least 2", arch.nodes);
  }
  check_one_of(arch.orientation, {"dfs", "index"}, "arch.orientation");
  check_one_of(arch.staging, {"uniform", "greedy", "probabilistic"}, "arch.staging");
  CONCNAS_CHECK(arch.stage_probability >= 0 && arch.stage_probability <= 1,
                "arch.stage_probability: {} must lie in [0, 1]", format_number(arch.stage_probability));
  check_one_of(arch.aggregation, {"randwire", "sigmoid_inputs"}, "arch.aggregation");
  check_one_of(arch.baseline, {"", "chain"}, "arch.baseline");
  check_one_of(data.dataset, {"fashion-mnist", "mnist", "cifar10", "synthetic"}, "data.dataset");
  CONCNAS_CHECK(!data.path.empty() || data.dataset == "fashion-mnist" || data.dataset == "synthetic",
                "data.path: required for data set '{}'", data.dataset);
  CONCNAS_CHECK(data.train_subset >= 0, "data.train_subset: {} must be >= 0", data.train_subset);
  CONCNAS_CHECK(data.validation >= 0, "data.validation: {} must be >= 0", data.validation);
  CONCNAS_CHECK(data.crop_padding >= 0, "data.crop_padding: {} must be >= 0", data.crop_padding);
  check_one_of(data.flip, {"auto", "on", "off"}, "data.flip");
  CONCNAS_CHECK(data.synthetic_train > 0 && data.synthetic_test > 0 && data.synthetic_side >= 8 &&
                    data.synthetic_classes >= 2,
                "data.synthetic_*: need train, test > 0, side >= 8, classes >= 2");
  CONCNAS_CHECK(train.epochs >= 1, "train.epochs: {} must be at least 1", train.epochs);
  CONCNAS_CHECK(train.max_steps >= 0, "train.max_steps: {} must be >= 0", train.max_steps);
  CONCNAS_CHECK(train.batch_size >= 1, "train.batch_size: {} must be at least 1", train.batch_size);
  CONCNAS_CHECK(train.lr > 0, "train.lr: {} must be positive", format_number(train.lr));
  CONCNAS_CHECK(train.momentum >= 0 && train.momentum < 1, "train.momentum: {} must lie in [0, 1)",
                format_number(train.momentum));
  CONCNAS_CHECK(train.weight_decay >= 0, "train.weight_decay: {} must be >= 0",
                format_number(train.weight_decay));
  CONCNAS_CHECK(train.label_smoothing >= 0 && train.label_smoothing < 1,
                "train.label_smoothing: {} must lie in [0, 1)", format_number(train.label_smoothing));
  CONCNAS_CHECK(train.warmup_epochs >= 0, "train.warmup_epochs: {} must be >= 0",
                format_number(train.warmup_epochs));
  CONCNAS_CHECK(train.threads >= 0, "train.threads: {} must be >= 0 (0 = all cores)", train.threads);
  CONCNAS_CHECK(train.batch_split >= 0,
                "train.batch_split: {} must be >= 0 (0 = one per thread, 1 = no split)",
                train.batch_split);
  check_one_of(train.kernels, {"concnas", "libtorch"}, "train.kernels");
  CONCNAS_CHECK(train.eval_batch_size >= 1, "train.eval_batch_size: {} must be at least 1",
                train.eval_batch_size);
}

namespace detail {

void check_one_of(const std::string& value, std::initializer_list<const char*> allowed,
                  const std::string& key) {
  for (const char* a : allowed)
    if (value == a) return;
  throw InvalidArgument(fmt::format("{}: '{}' is not one of {}", key, value, fmt::join(allowed, ", ")));
}

SetFlag split_set_flag(const std::string& item) {
  const auto eq = item.find('=');
  const auto dot = item.find('.');
  CONCNAS_CHECK(eq != std::string::npos && dot != std::string::npos && dot < eq,
                "--set '{}' must be section.key=value", item);
  SetFlag flag{item.substr(0, dot), item.substr(dot + 1, eq - dot - 1), YAML::Node()};
  try {
    flag.value = YAML::Load(item.substr(eq + 1));
  } catch (const YAML::Exception&) {
    throw InvalidArgument(fmt::format("--set {}: cannot read '{}'", item.substr(0, eq), item.substr(eq + 1)));
  }
  return flag;
}

YAML::Node load_config_root(const std::string& text, const std::string& source) {
  YAML::Node root = text.find_first_not_of(" \t\r\n") == std::string::npos
                        ? YAML::Node(YAML::NodeType::Map)
                        : load_yaml(text, source);
  if (root.IsNull()) root = YAML::Node(YAML::NodeType::Map);
  if (!root.IsMap()) throw ParseError(source, 0, "not a config (expected a mapping)");
  return root;
}

TrainConfig parse_train_sections(YAML::Node root, const std::string& source,
                                 const std::vector<std::string>& overrides) {
  detail::Reader r(source);
  for (const char* section : kSections) {
    if (!root[section]) continue;
    const auto keys = keys_of(section);
    const YAML::Node node = root[section];
    if (!node.IsMap()) r.fail(node, fmt::format("'{}' must be a mapping", section));
    for (const auto& kv : node) {
      const auto key = kv.first.as<std::string>();
      if (std::find(keys.begin(), keys.end(), key) == keys.end())
        r.fail(kv.first, fmt::format("unknown key '{}.{}' (known: {})", section, key, fmt::join(keys, ", ")));
    }
  }
  // --set overrides: checked against the schema, then written into the tree, so they are
  // parsed (and rejected) exactly like file values.
  std::vector<std::string> overridden;
  for (const auto& item : overrides) {
    const auto flag = split_set_flag(item);
    const std::string& section = flag.section;
    const std::string& key = flag.key;
    const auto keys = keys_of(section);
    CONCNAS_CHECK(std::find(keys.begin(), keys.end(), key) != keys.end(),
                  "--set {}.{}: unknown key{}", section, key,
                  keys.empty() ? " (sections: arch, data, train)"
                               : fmt::format(" (known in '{}': {})", section, fmt::join(keys, ", ")));
    const YAML::Node value = flag.value;
    if (!root[section]) root[section] = YAML::Node(YAML::NodeType::Map);
    YAML::Node sec = root[section];
    sec[key] = value.IsNull() ? YAML::Node(std::string()) : value;
    overridden.push_back(section + "." + key);
  }
  TrainConfig config;
  for (const auto& f : schema()) {
    const YAML::Node sec = root[f.section];
    if (!sec) continue;
    const YAML::Node n = sec[f.key];
    if (!n) continue;
    const std::string dotted = f.section + "." + f.key;
    try {
      f.read(config, r, n, dotted);
    } catch (const ParseError& e) {
      // A value from --set has no line in the file: name the flag instead.
      if (std::find(overridden.begin(), overridden.end(), dotted) == overridden.end()) throw;
      throw InvalidArgument(fmt::format("--set {}: {}", dotted, e.detail()));
    }
  }
  try {
    config.sanity_check();
  } catch (const InvalidArgument& e) {
    // Point at the offending key: its line in the file, or the --set that gave it.
    const std::string what = e.what();
    const auto colon = what.find(':');
    const std::string dotted = colon == std::string::npos ? "" : what.substr(0, colon);
    if (std::find(overridden.begin(), overridden.end(), dotted) != overridden.end())
      throw InvalidArgument("--set " + what);
    const auto dot = dotted.find('.');
    if (dot != std::string::npos) {
      const YAML::Node sec = root[dotted.substr(0, dot)];
      if (sec && sec.IsMap()) {
        const YAML::Node n = sec[dotted.substr(dot + 1)];
        if (n && n.Mark().line >= 0) throw ParseError(source, n.Mark().line + 1, what);
      }
    }
    throw ParseError(source, 0, what);
  }
  return config;
}

}  // namespace detail

TrainConfig parse_train_config(const std::string& text, const std::string& source,
                               const std::vector<std::string>& overrides) {
  YAML::Node root = detail::load_config_root(text, source);
  detail::Reader(source).check_map(root, "", {"arch", "data", "train"});
  return detail::parse_train_sections(root, source, overrides);
}

TrainConfig load_train_config(const std::string& path, const std::vector<std::string>& overrides) {
  return parse_train_config(read_file(path), path, overrides);
}

arch::GenerateOptions generate_options(const ArchSection& a, const arch::Shape& input,
                                       int classes) {
  arch::GenerateOptions o;
  o.generator = a.generator;
  o.nodes = a.nodes;
  o.params = a.params;
  o.orientation = graph::parse_orientation(a.orientation);
  o.staging.policy = a.staging;
  o.staging.probability = a.stage_probability;
  o.seed = a.seed;
  o.network.input = input;
  o.network.classes = classes;
  o.network.stem_channels = a.stem_channels;
  o.network.channel_limit = a.channel_limit;
  o.network.min_resolution = a.min_resolution;
  o.network.aggregation = arch::parse_aggregation(a.aggregation);
  return o;
}

std::string to_yaml(const TrainConfig& config) {
  return "# resolved concnas training config: every key (docs/training.md)\n" +
         detail::sections_to_yaml(config, {"arch", "data", "train"});
}

std::string detail::sections_to_yaml(const TrainConfig& config,
                                     const std::vector<std::string>& sections) {
  std::string out;
  std::string section;
  for (const auto& f : schema()) {
    if (std::find(sections.begin(), sections.end(), f.section) == sections.end()) continue;
    if (f.section != section) {
      section = f.section;
      out += section + ":\n";
    }
    out += fmt::format("  {}: {}\n", f.key, f.write(config));
  }
  return out;
}

}  // namespace concnas::config
