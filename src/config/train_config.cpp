#include "concnas/config/train_config.h"

#include <algorithm>
#include <functional>
#include <map>

#include <fmt/ranges.h>

#include "concnas/common/atomic_file.h"
#include "schema.h"
#include "train_sections.h"
#include "yaml_reader.h"

namespace concnas::config {
using detail::check_one_of;
using detail::field;
using detail::Key;
namespace {

using TrainKey = Key<TrainConfig>;

TrainKey params_key() {
  TrainKey k{"arch", "params", "mapping of numbers", "", "generator parameters, e.g. `{alpha: 1, beta: 2}`; "
             "missing ones take the generator's defaults (docs/generators.md)", {}, {}, {}};
  k.read = [](TrainConfig& c, const detail::Reader& r, const YAML::Node& n, const std::string& key) {
    if (!n.IsMap()) r.fail(n, fmt::format("'{}' must be a mapping of numbers", key));
    c.arch.params = ParamMap();
    for (const auto& kv : n) {
      const auto name = r.key(kv.first, key);
      c.arch.params.set(name, r.number(kv.second, key + "." + name));
    }
  };
  k.write = [](const TrainConfig& c) {
    std::vector<std::string> items;
    for (const auto& [key, value] : c.arch.params.values()) items.push_back(fmt::format("{}: {}", key, format_number(value)));
    return fmt::format("{{{}}}", fmt::join(items, ", "));
  };
  return k;
}

std::vector<TrainKey> arch_keys() {
  using C = TrainConfig;
  return {
      field<C>("arch", "file", [](C& c) -> auto& { return c.arch.file; },
               "architecture file to train; empty: generate one from the keys below"),
      detail::checked_elsewhere(field<C>("arch", "generator", [](C& c) -> auto& { return c.arch.generator; },
                                "graph generator (docs/generators.md)"),
                       "one of er, ba, ws, dp (without `file`)"),
      detail::checked_elsewhere(field<C>("arch", "nodes", [](C& c) -> auto& { return c.arch.nodes; },
                                "compute vertices of the generated DAG"),
                       "2 .. 1000000 (without `file`)"),
      params_key(),
      field<C>("arch", "orientation", [](C& c) -> auto& { return c.arch.orientation; },
               "how undirected edges become a DAG", detail::one_of({"dfs", "index"})),
      field<C>("arch", "staging", [](C& c) -> auto& { return c.arch.staging; }, "where resolution halves",
               detail::one_of({"uniform", "greedy", "probabilistic"})),
      field<C>("arch", "stage_probability", [](C& c) -> auto& { return c.arch.stage_probability; },
               "chance a vertex stages (probabilistic staging)", detail::within(0, 1, false, false)),
      field<C>("arch", "seed", [](C& c) -> auto& { return c.arch.seed; }, "generator and staging seed"),
      field<C>("arch", "stem_channels", [](C& c) -> auto& { return c.arch.stem_channels; }, "channels of the stem"),
      field<C>("arch", "channel_limit", [](C& c) -> auto& { return c.arch.channel_limit; },
               "no vertex stages past this many channels"),
      field<C>("arch", "min_resolution", [](C& c) -> auto& { return c.arch.min_resolution; },
               "no vertex stages below this side length"),
      field<C>("arch", "aggregation", [](C& c) -> auto& { return c.arch.aggregation; }, "how a vertex sums its inputs",
               detail::one_of({"randwire", "sigmoid_inputs"})),
      field<C>("arch", "baseline", [](C& c) -> auto& { return c.arch.baseline; },
               "`chain`: the sequential baseline of `nodes` vertices instead", detail::one_of({"", "chain"})),
  };
}

std::vector<TrainKey> data_keys() {
  using C = TrainConfig;
  return {
      field<C>("data", "dataset", [](C& c) -> auto& { return c.data.dataset; }, "the data set",
               detail::one_of(data::builtin_datasets().names())),
      detail::checked_elsewhere(field<C>("data", "path", [](C& c) -> auto& { return c.data.path; },
                                "folder of its files; empty: the data set's own (Debian's for fashion-mnist)"),
                       "required for mnist, cifar10, idx"),
      field<C>("data", "train_subset", [](C& c) -> auto& { return c.data.train_subset; },
               "training images used after the validation split; 0: all", detail::not_below<std::int64_t>(0)),
      field<C>("data", "validation", [](C& c) -> auto& { return c.data.validation; },
               "training images held out (seeded) for validation; when not given, 5000 or a tenth of a "
               "generated set, whichever is fewer", detail::not_below<std::int64_t>(0)),
      field<C>("data", "augment", [](C& c) -> auto& { return c.data.augment; }, "random crops (and flips)"),
      field<C>("data", "crop_padding", [](C& c) -> auto& { return c.data.crop_padding; },
               "zero padding before the random crop", detail::up_to(detail::not_below(0), 1024)),
      field<C>("data", "flip", [](C& c) -> auto& { return c.data.flip; },
               "horizontal flips; auto: where the data set allows them (not digits)",
               detail::one_of({"auto", "on", "off"})),
      field<C>("data", "synthetic_train", [](C& c) -> auto& { return c.data.synthetic_train; },
               "synthetic set: training images", detail::up_to(detail::positive<std::int64_t>(), std::int64_t{10000000})),
      field<C>("data", "synthetic_test", [](C& c) -> auto& { return c.data.synthetic_test; },
               "synthetic set: test images", detail::up_to(detail::positive<std::int64_t>(), std::int64_t{10000000})),
      field<C>("data", "synthetic_side", [](C& c) -> auto& { return c.data.synthetic_side; },
               "synthetic set: image side", detail::up_to(detail::at_least(8), 4096)),
      field<C>("data", "synthetic_classes", [](C& c) -> auto& { return c.data.synthetic_classes; },
               "synthetic set: classes", detail::up_to(detail::at_least(2), 256)),
  };
}

std::vector<TrainKey> train_keys() {
  using C = TrainConfig;
  return {
      field<C>("train", "epochs", [](C& c) -> auto& { return c.train.epochs; }, "passes over the training part",
               detail::up_to(detail::at_least(1), 1000000)),
      field<C>("train", "max_steps", [](C& c) -> auto& { return c.train.max_steps; },
               "stop after this many optimiser steps in all; 0: no limit", detail::not_below<std::int64_t>(0)),
      field<C>("train", "batch_size", [](C& c) -> auto& { return c.train.batch_size; }, "images per step",
               detail::up_to(detail::at_least(1), 1000000)),
      field<C>("train", "lr", [](C& c) -> auto& { return c.train.lr; }, "peak learning rate (SGD)",
               detail::positive<double>()),
      field<C>("train", "momentum", [](C& c) -> auto& { return c.train.momentum; }, "SGD momentum",
               detail::within(0, 1, false, true)),
      field<C>("train", "nesterov", [](C& c) -> auto& { return c.train.nesterov; }, "Nesterov momentum"),
      field<C>("train", "weight_decay", [](C& c) -> auto& { return c.train.weight_decay; }, "L2 weight decay",
               detail::not_below(0.0)),
      field<C>("train", "label_smoothing", [](C& c) -> auto& { return c.train.label_smoothing; },
               "label smoothing of the cross entropy", detail::within(0, 1, false, true)),
      field<C>("train", "warmup_epochs", [](C& c) -> auto& { return c.train.warmup_epochs; },
               "linear warm-up (at most a fifth of the run's steps), then cosine decay to 0",
               detail::not_below(0.0)),
      field<C>("train", "threads", [](C& c) -> auto& { return c.train.threads; },
               "intra-op threads; 0: all cores", detail::up_to(detail::not_below(0, " (0 = all cores)"), 1024)),
      field<C>("train", "kernels", [](C& c) -> auto& { return c.train.kernels; },
               "whose loops train batch norms and aggregations: concnas's own or LibTorch's",
               detail::one_of({"concnas", "libtorch"})),
      field<C>("train", "seed", [](C& c) -> auto& { return c.train.seed; },
               "weights, data order, augmentation and validation split"),
      field<C>("train", "eval_batch_size", [](C& c) -> auto& { return c.train.eval_batch_size; },
               "images per evaluation batch", detail::up_to(detail::at_least(1), 1000000)),
  };
}

const detail::Schema<TrainConfig>& schema() {
  static const detail::Schema<TrainConfig> s = [] {
    auto keys = arch_keys();
    for (auto& k : data_keys()) keys.push_back(std::move(k));
    for (auto& k : train_keys()) keys.push_back(std::move(k));
    return detail::Schema<TrainConfig>(std::move(keys));
  }();
  return s;
}

const char* kSections[] = {"arch", "data", "train"};

}  // namespace

const detail::Schema<TrainConfig>& detail::train_schema() { return schema(); }

void TrainConfig::sanity_check() const {
  if (arch.file.empty()) {
    check_one_of(arch.generator, {"er", "ba", "ws", "dp", "lcp"}, "arch.generator");
    CONCNAS_CHECK(arch.nodes >= 2, "arch.nodes: {} must be at least 2", arch.nodes);
    CONCNAS_CHECK(arch.nodes <= graph::kMaxVertices, "arch.nodes: {} must be at most {}", arch.nodes,
                  graph::kMaxVertices);
  }
  schema().check(*this);
  CONCNAS_CHECK(!data.path.empty() || !data::builtin_datasets().get(data.dataset).needs_path(),
                "data.path: required for data set '{}'", data.dataset);
}

namespace {

// data.validation's default of 5000 would leave nothing of a generated set's 512 training
// images: when the key is not given and the set's size is known without reading files,
// the default is at most a tenth of it, so the defaults work for every data set.
void cap_default_validation(TrainConfig& config) {
  const auto names = data::builtin_datasets().names();
  if (std::find(names.begin(), names.end(), config.data.dataset) == names.end()) return;  // refused below
  const auto& dataset = data::builtin_datasets().get(config.data.dataset);
  if (const auto images = dataset.known_train_size(dataset_options(config.data, config.train.seed)))
    config.data.validation = std::min(config.data.validation, static_cast<std::int64_t>(*images / 10));
}

}  // namespace

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
  for (const char* section : kSections)
    if (root[section]) schema().check_known(r, root[section], section);
  // --set overrides: checked against the schema, then written into the tree, so they are
  // parsed (and rejected) exactly like file values.
  std::vector<std::string> overridden;
  for (const auto& item : overrides) {
    const auto flag = split_set_flag(item);
    const std::string& section = flag.section;
    const std::string& key = flag.key;
    const auto keys = schema().names_in(section);
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
  for (const auto& f : schema().keys()) {
    const YAML::Node sec = root[f.section];
    if (!sec) continue;
    const YAML::Node n = sec[f.name];
    if (!n) continue;
    const std::string dotted = f.dotted();
    try {
      f.read(config, r, n, dotted);
    } catch (const ParseError& e) {
      // A value from --set has no line in the file: name the flag instead.
      if (std::find(overridden.begin(), overridden.end(), dotted) == overridden.end()) throw;
      throw InvalidArgument(fmt::format("--set {}: {}", dotted, e.detail()));
    }
  }
  if (!(root["data"] && root["data"]["validation"])) cap_default_validation(config);
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

data::DatasetOptions dataset_options(const DataSection& data, std::uint64_t seed) {
  data::DatasetOptions o;
  o.path = data.path;
  o.synthetic_train = data.synthetic_train;
  o.synthetic_test = data.synthetic_test;
  o.synthetic_side = data.synthetic_side;
  o.synthetic_classes = data.synthetic_classes;
  o.seed = seed;
  return o;
}

std::string to_yaml(const TrainConfig& config, const std::vector<std::string>& sections) {
  return "# resolved concnas training config: every key (docs/configuration.md)\n" +
         detail::sections_to_yaml(config, sections);
}

std::string detail::sections_to_yaml(const TrainConfig& config,
                                     const std::vector<std::string>& sections) {
  return schema().yaml(config, sections);
}

}  // namespace concnas::config
