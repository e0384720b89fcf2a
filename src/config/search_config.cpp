#include "concnas/search/search_config.h"

#include "concnas/arch/families.h"
#include "concnas/arch/lcp.h"

#include <algorithm>
#include <cmath>

#include <fmt/ranges.h>

#include "concnas/common/atomic_file.h"
#include "concnas/config/devices_yaml.h"
#include "concnas/graph/generator.h"
#include "concnas/partition/partitioner.h"
#include "search_schema.h"
#include "train_sections.h"
#include "yaml_reader.h"

namespace concnas::search {
namespace {

using config::detail::check_one_of;
using config::detail::Reader;

const std::vector<std::string> kOwnSections{"search", "space", "constraints"};

// Applies `search.x.y=value` style overrides to the YAML tree, so they are read (and
// rejected) exactly like file values; returns the overrides meant for data/train.
std::vector<std::string> apply_own_overrides(YAML::Node root, const std::vector<std::string>& overrides) {
  std::vector<std::string> rest;
  for (const auto& item : overrides) {
    const auto flag = config::detail::split_set_flag(item);
    const std::string& section = flag.section;
    if (std::find(kOwnSections.begin(), kOwnSections.end(), section) == kOwnSections.end()) {
      CONCNAS_CHECK(section == "data" || section == "train",
                    "--set {}.{}: unknown section '{}' (sections: search, space, constraints, data, train)",
                    section, flag.key, section);
      rest.push_back(item);
      continue;
    }
    const YAML::Node value = flag.value;
    // Walk section.a.b, creating maps on the way.
    std::vector<std::string> path;
    std::size_t start = 0;
    const std::string dotted = section + "." + flag.key;
    while (true) {
      const auto next = dotted.find('.', start);
      path.push_back(dotted.substr(start, next - start));
      if (next == std::string::npos) break;
      start = next + 1;
    }
    std::vector<YAML::Node> chain{root};
    for (std::size_t i = 0; i + 1 < path.size(); ++i) {
      YAML::Node parent = chain.back();
      if (!parent[path[i]] || !parent[path[i]].IsMap()) parent[path[i]] = YAML::Node(YAML::NodeType::Map);
      chain.push_back(parent[path[i]]);
    }
    chain.back()[path.back()] = value;
  }
  return rest;
}

ParamRange range_of(const Reader& r, const YAML::Node& n, const std::string& key) {
  if (n.IsMap()) {
    r.check_map(n, key, {"choices"});
    ParamRange p;
    p.choices = config::detail::ValueCodec<std::vector<double>>::read(r, r.need(n, "choices", key), key + ".choices");
    p.lo = *std::min_element(p.choices.begin(), p.choices.end());
    p.hi = *std::max_element(p.choices.begin(), p.choices.end());
    return p;
  }
  if (n.IsScalar()) {
    const double v = r.number(n, key);
    return {v, v, {}};
  }
  if (!n.IsSequence() || n.size() != 2)
    r.fail(n, fmt::format("'{}' must be a number, a range [low, high] or {{choices: [...]}}", key));
  ParamRange p{r.number(n[0], key), r.number(n[1], key), {}};
  if (p.lo > p.hi) r.fail(n, fmt::format("'{}': range [{}, {}] runs backwards", key,
                                         format_number(p.lo), format_number(p.hi)));
  return p;
}

std::string list_yaml(const std::vector<std::string>& items) { return fmt::format("[{}]", fmt::join(items, ", ")); }
template <typename T>
std::string number_list(const std::vector<T>& values) {
  std::vector<std::string> items;
  for (const auto& v : values) items.push_back(format_number(static_cast<double>(v)));
  return list_yaml(items);
}

using SearchKey = config::detail::Key<SearchConfig>;

SearchKey rungs_key() {
  SearchKey k{"search", "rungs", "list of {train_subset, epochs}", "", "the fidelities of successive halving, "
              "lowest first (train_subset 0: all images); [] scores only", {}, {}, {}};
  k.read = [](SearchConfig& c, const Reader& r, const YAML::Node& rungs, const std::string&) {
    if (!rungs.IsSequence())
      r.fail(rungs, "'search.rungs' must be a list of {train_subset, epochs} ([] = score only)");
    c.search.rungs.clear();
    for (const auto& item : rungs) {
      r.check_map(item, "search.rungs[]", {"train_subset", "epochs"});
      Rung rung;
      if (item["train_subset"])
        rung.train_subset = r.scalar<std::int64_t>(item["train_subset"], "search.rungs[].train_subset", "an integer");
      if (item["epochs"]) rung.epochs = r.integer(item["epochs"], "search.rungs[].epochs");
      c.search.rungs.push_back(rung);
    }
  };
  k.write = [](const SearchConfig& c) {
    std::vector<std::string> rungs;
    for (const auto& r : c.search.rungs)
      rungs.push_back(fmt::format("{{train_subset: {}, epochs: {}}}", r.train_subset, r.epochs));
    return list_yaml(rungs);
  };
  return k;
}

SearchKey generators_key() {
  SearchKey k{"space", "generators", "mapping", "", "generator name (er, ba, ws, dp, lcp, sep) to its parameters: a number, "
              "a range [low, high] or {choices: [...]}; default: all four with their defaults", {}, {}, {}};
  k.read = [](SearchConfig& c, const Reader& r, const YAML::Node& g, const std::string&) {
    if (!g.IsMap() || g.size() == 0)
      r.fail(g, "'space.generators' must map generator names (er, ba, ws, dp, lcp, sep) to their parameters");
    c.space.generators.clear();
    const auto registry = graph::builtin_generators();
    for (const auto& kv : g) {
      GeneratorSpace gs;
      gs.name = r.key(kv.first, "space.generators");
      const std::string key = "space.generators." + gs.name;
      if (!arch::is_architecture_family(gs.name))
        r.located(kv.first, [&]() -> const graph::Generator& { return registry.get(gs.name); });
      if (!kv.second.IsNull()) {
        if (!kv.second.IsMap()) r.fail(kv.second, fmt::format("'{}' must map parameters to values or ranges", key));
        for (const auto& p : kv.second) {
          const auto name = r.key(p.first, key);
          gs.params[name] = range_of(r, p.second, key + "." + name);
        }
      }
      c.space.generators.push_back(gs);
    }
  };
  k.write = [](const SearchConfig& c) {
    std::vector<std::string> out;
    for (const auto& g : c.space.generators) {
      std::vector<std::string> params;
      for (const auto& [name, range] : g.params)
        params.push_back(!range.choices.empty() ? fmt::format("{}: {{choices: {}}}", name, number_list(range.choices))
                         : range.lo == range.hi
                             ? fmt::format("{}: {}", name, format_number(range.lo))
                             : fmt::format("{}: [{}, {}]", name, format_number(range.lo), format_number(range.hi)));
      out.push_back(fmt::format("{}: {{{}}}", g.name, fmt::join(params, ", ")));
    }
    return fmt::format("{{{}}}", fmt::join(out, ", "));
  };
  return k;
}

SearchKey baselines_key() {
  using config::detail::field;
  auto k = field<SearchConfig>("space", "baselines", [](SearchConfig& c) -> auto& { return c.space.baselines; },
                               "reference networks always scored and trained ([] for none)",
                               config::detail::one_of({"chain", "randwire", "lcp"}));
  k.read = [](SearchConfig& c, const Reader& r, const YAML::Node& b, const std::string&) {
    c.space.baselines.clear();
    if (!b.IsSequence()) r.fail(b, "'space.baselines' must be a list (chain, randwire, lcp; [] for none)");
    for (const auto& item : b) c.space.baselines.push_back(r.string(item, "space.baselines"));
  };
  return k;
}

std::vector<SearchKey> search_keys() {
  using C = SearchConfig;
  using config::detail::field;
  namespace d = config::detail;
  return {
      field<C>("search", "seed", [](C& c) -> auto& { return c.search.seed; }, "sampling and partitioning seed"),
      field<C>("search", "candidates", [](C& c) -> auto& { return c.search.candidates; },
               "sampled candidates (the baselines come on top)", d::up_to(d::not_below(0), 10000000)),
      field<C>("search", "units", [](C& c) -> auto& { return c.search.units; },
               "devices the score and latency are for", d::up_to(d::at_least(2), 1024)),
      field<C>("search", "epsilons", [](C& c) -> auto& { return c.search.epsilons; },
               "balance bounds to partition for; the best counts", d::not_below(1.0)),
      field<C>("search", "partitioner", [](C& c) -> auto& { return c.search.partitioner; }, "hypergraph partitioner",
               d::one_of(partition::builtin_partitioners().names())),
      field<C>("search", "objective", [](C& c) -> auto& { return c.search.objective; },
               "the Pareto axis beside params", d::one_of({"latency", "cs"})),
      field<C>("search", "devices", [](C& c) -> auto& { return c.search.devices; },
               "devices file the latency is predicted for (docs/scoring.md); empty: default devices"),
      field<C>("search", "calibrate", [](C& c) -> auto& { return c.search.calibrate; },
               "measure this machine first and predict for it (the run folder's devices.yaml)"),
      field<C>("search", "threads", [](C& c) -> auto& { return c.search.threads; }, "scoring threads; 0: all cores",
               d::up_to(d::not_below(0, " (0 = all cores)"), 1024)),
      field<C>("search", "select", [](C& c) -> auto& { return c.search.select; },
               "sampled candidates entering the first rung", d::up_to(d::at_least(1), 1000000)),
      rungs_key(),
      field<C>("search", "keep", [](C& c) -> auto& { return c.search.keep; },
               "fraction promoted from one rung to the next", d::within(0, 1, true, false)),
  };
}

std::vector<SearchKey> space_keys() {
  using C = SearchConfig;
  using config::detail::field;
  namespace d = config::detail;
  return {
      generators_key(),
      field<C>("space", "nodes", [](C& c) -> auto& { return c.space.nodes; }, "vertex counts to draw from",
               d::up_to(d::at_least(2), kMaxSearchVertices)),
      field<C>("space", "staging", [](C& c) -> auto& { return c.space.staging; }, "staging policies to draw from",
               d::one_of({"uniform", "greedy", "probabilistic"})),
      field<C>("space", "stage_probability", [](C& c) -> auto& { return c.space.stage_probability; },
               "chance a vertex stages (probabilistic staging)", d::within(0, 1, false, false)),
      field<C>("space", "stem_channels", [](C& c) -> auto& { return c.space.stem_channels; },
               "stem widths to draw from", d::up_to(d::positive<int>(), arch::kMaxChannels)),
      field<C>("space", "channel_limit", [](C& c) -> auto& { return c.space.channel_limit; },
               "channel limits to draw from", d::up_to(d::positive<int>(), arch::kMaxChannels)),
      field<C>("space", "orientation", [](C& c) -> auto& { return c.space.orientation; },
               "how undirected edges become a DAG", d::one_of({"dfs", "index"})),
      field<C>("space", "aggregation", [](C& c) -> auto& { return c.space.aggregation; },
               "how a vertex sums its inputs", d::one_of({"randwire", "sigmoid_inputs"})),
      baselines_key(),
      field<C>("space", "baseline_nodes", [](C& c) -> auto& { return c.space.baseline_nodes; },
               "vertices of the baselines", d::up_to(d::at_least(2), kMaxSearchVertices)),
      field<C>("space", "baseline_stem_channels", [](C& c) -> auto& { return c.space.baseline_stem_channels; },
               "stem of the baselines"),
      field<C>("space", "baseline_channel_limit", [](C& c) -> auto& { return c.space.baseline_channel_limit; },
               "channel limit of the baselines"),
  };
}

std::vector<SearchKey> constraint_keys() {
  using C = SearchConfig;
  using config::detail::field;
  namespace d = config::detail;
  return {
      field<C>("constraints", "max_params", [](C& c) -> auto& { return c.constraints.max_params; },
               "parameters; 0: no limit", d::not_below<std::int64_t>(0, " (0 = no limit)")),
      field<C>("constraints", "max_flops", [](C& c) -> auto& { return c.constraints.max_flops; },
               "FLOPs of one inference; 0: no limit", d::not_below<std::int64_t>(0, " (0 = no limit)")),
      field<C>("constraints", "max_latency_ms", [](C& c) -> auto& { return c.constraints.max_latency_ms; },
               "predicted latency; 0: no limit", d::not_below(0.0, " (0 = no limit)")),
  };
}

const config::detail::Schema<SearchConfig>& schema() {
  static const config::detail::Schema<SearchConfig> s = [] {
    auto keys = search_keys();
    for (auto& k : space_keys()) keys.push_back(std::move(k));
    for (auto& k : constraint_keys()) keys.push_back(std::move(k));
    return config::detail::Schema<SearchConfig>(std::move(keys));
  }();
  return s;
}

// The YAML node a dotted key came from, to locate a sanity-check error.
YAML::Node node_at(const YAML::Node& root, const std::string& dotted) {
  YAML::Node n = root;
  std::size_t start = 0;
  while (n && n.IsMap()) {
    const auto next = dotted.find('.', start);
    const std::string part = dotted.substr(start, next - start);
    if (!n[part]) return YAML::Node();
    n = n[part];
    if (next == std::string::npos) return n;
    start = next + 1;
  }
  return YAML::Node();
}

}  // namespace

namespace {

// The values a range may draw that a probe tries: its choices, every whole number of a
// short whole range, or its ends.
std::vector<double> probe_values(const ParamRange& range) {
  std::vector<double> values = range.choices;
  if (values.empty() && range.whole() && range.hi - range.lo <= 64)
    for (double v = range.lo; v <= range.hi; ++v) values.push_back(v);
  else if (values.empty())
    values = {range.lo, range.hi};
  return values;
}

// An architecture family's parameters depend on each other and on the vertex count (LCP's
// branches x depth = nodes): every combination is tried.
void probe_family(const GeneratorSpace& g, const std::vector<int>& nodes) {
  std::vector<ParamMap> combos{ParamMap{}};
  for (const auto& [name, range] : g.params) {
    std::vector<ParamMap> next;
    for (const auto& base : combos)
      for (double v : probe_values(range)) {
        ParamMap p = base;
        p.set(name, v);
        next.push_back(p);
      }
    combos = std::move(next);
    CONCNAS_CHECK(combos.size() <= 4096, "space.generators.{}: more than 4096 combinations of parameter values",
                  g.name);
  }
  for (const auto& combo : combos)
    for (int n : nodes) {
      try {
        arch::check_family_params(g.name, combo, n);
      } catch (const InvalidArgument& e) {
        std::vector<std::string> values;
        for (const auto& [k, v] : combo.values()) values.push_back(fmt::format("{} = {}", k, format_number(v)));
        throw InvalidArgument(fmt::format("space.generators.{}: {} at {} vertices: {}", g.name,
                                          values.empty() ? "the defaults" : fmt::format("{}", fmt::join(values, ", ")),
                                          n, e.what()));
      }
    }
}

// Every value a candidate can draw must suit its generator at every vertex count: try them
// all now (the ends of a real range), so no sample fails half-way through a search.
void probe_generators(const SearchSpace& space) {
  const auto registry = graph::builtin_generators();
  for (const auto& g : space.generators) {
    if (arch::is_architecture_family(g.name)) {
      probe_family(g, space.nodes);
      continue;
    }
    for (const auto& [name, range] : g.params)
      for (double v : probe_values(range))
        for (int n : space.nodes) {
          ParamMap probe;
          probe.set(name, v);
          try {
            registry.get(g.name).generate(n, probe, 0);
          } catch (const InvalidArgument& e) {
            throw InvalidArgument(fmt::format("space.generators.{}.{}: {} = {} at {} vertices: {}", g.name, name,
                                              name, format_number(v), n, e.what()));
          }
        }
  }
}

// Every combination must be a valid network, and the baselines must fit their settings.
void check_networks(const SearchSpace& space) {
  const int widest_stem = *std::max_element(space.stem_channels.begin(), space.stem_channels.end());
  const int lowest_limit = *std::min_element(space.channel_limit.begin(), space.channel_limit.end());
  CONCNAS_CHECK(lowest_limit >= widest_stem,
                "space.channel_limit: {} is below stem_channels {} (every combination is sampled)", lowest_limit,
                widest_stem);
  if (std::find(space.baselines.begin(), space.baselines.end(), "lcp") != space.baselines.end()) {
    try {
      arch::lcp_options(ParamMap{}, space.baseline_nodes);
    } catch (const InvalidArgument& e) {
      throw InvalidArgument(fmt::format("space.baseline_nodes: {} do not suit the lcp baseline: {}",
                                        space.baseline_nodes, e.what()));
    }
  }
  if (std::find(space.baselines.begin(), space.baselines.end(), "randwire") == space.baselines.end()) return;
  CONCNAS_CHECK(space.baseline_nodes >= 15,
                "space.baseline_nodes: {} is too few for the randwire baseline (3 stages of WS k=4 "
                "need at least 15)", space.baseline_nodes);
  CONCNAS_CHECK(2 * space.baseline_stem_channels < space.baseline_channel_limit,
                "space.baseline_channel_limit: {} leaves the randwire baseline no room to stage twice "
                "(its stages have {}, {} and {} channels: the limit must exceed {})",
                space.baseline_channel_limit, space.baseline_stem_channels, 2 * space.baseline_stem_channels,
                4 * space.baseline_stem_channels, 2 * space.baseline_stem_channels);
}

// What a search needs of the data and train sections.
void check_base(const config::TrainConfig& base) {
  const auto& dataset = data::builtin_datasets().get(base.data.dataset);
  if (const auto images = dataset.known_train_size(config::dataset_options(base.data, base.train.seed)))
    CONCNAS_CHECK(static_cast<std::size_t>(base.data.validation) < *images,
                  "data.validation: {} leaves nothing of the {} {} training images", base.data.validation,
                  *images, dataset.name());
  CONCNAS_CHECK(base.data.validation > 0,
                "data.validation: a search selects by validation accuracy; it needs a validation split (> 0)");
  CONCNAS_CHECK(base.arch.file.empty(), "arch: a search samples its architectures; drop the arch section");
}

}  // namespace

void SearchConfig::sanity_check() const {
  schema().check(*this);
  for (const auto& r : search.rungs) {
    CONCNAS_CHECK(r.epochs >= 1, "search.rungs: epochs {} must be at least 1", r.epochs);
    CONCNAS_CHECK(r.train_subset >= 0, "search.rungs: train_subset {} must be >= 0", r.train_subset);
  }
  CONCNAS_CHECK(!search.calibrate || search.devices.empty(),
                "search.calibrate: give either search.devices (a file) or search.calibrate: true, not both");
  CONCNAS_CHECK(search.candidates == 0 || !space.generators.empty(),
                "space.generators: name at least one generator to sample from");
  probe_generators(space);
  check_networks(space);
  check_base(base);
}

SearchConfig parse_search_config(const std::string& text, const std::string& source,
                                 const std::vector<std::string>& overrides) {
  Reader r(source);
  YAML::Node root = config::detail::load_config_root(text, source);
  // A file of comments alone would silently run the whole default search.
  if (root.size() == 0 && overrides.empty())
    throw ParseError(source, 0, "holds no settings (only comments?): a search config states at least its "
                                "`search:` section; every key is in docs/configuration.md");
  r.check_map(root, "", {"search", "space", "constraints", "data", "train"});
  const auto train_overrides = apply_own_overrides(root, overrides);
  SearchConfig c;
  c.base = config::detail::parse_train_sections(root, source, train_overrides);
  // Defaults that suit a search better than a single run.
  // (A `space:` that is not a mapping is refused below, naming its line.)
  if (!root["space"] || !root["space"].IsMap() || !root["space"]["generators"])
    c.space.generators = {{"er", {}}, {"ba", {}}, {"ws", {}}, {"dp", {}}};
  // A bad value that came from --set has no line in the file: name the flag instead.
  auto from_set = [&](const std::string& message) -> std::string {
    for (const auto& item : overrides) {
      const std::string key = item.substr(0, item.find('='));
      if (message.find(key) != std::string::npos) return key;
    }
    return "";
  };
  try {
    for (const auto& section : kOwnSections)
      if (root[section]) schema().read(c, r, root[section], section);
  } catch (const ParseError& e) {
    const std::string key = from_set(e.detail());
    if (key.empty()) throw;
    throw InvalidArgument(fmt::format("--set {}: {}", key, e.detail()));
  }
  try {
    c.sanity_check();
  } catch (const InvalidArgument& e) {
    const std::string what = e.what();
    const std::string key = from_set(what);
    if (!key.empty()) throw InvalidArgument("--set " + what);
    const std::string dotted = what.substr(0, what.find(':'));
    const YAML::Node n = node_at(root, dotted);
    throw ParseError(source, n && n.Mark().line >= 0 ? n.Mark().line + 1 : 0, what);
  }
  if (!c.search.devices.empty())
    std::tie(c.device_model, c.link_model) = config::load_devices(c.search.devices, c.search.units);
  return c;
}

SearchConfig load_search_config(const std::string& path, const std::vector<std::string>& overrides) {
  return parse_search_config(read_file(path), path, overrides);
}

std::string to_yaml(const SearchConfig& c) {
  return "# resolved concnas search config: every key (docs/configuration.md)\n" +
         schema().yaml(c, kOwnSections) + config::detail::sections_to_yaml(c.base, {"data", "train"});
}

}  // namespace concnas::search

namespace concnas::config::detail {
const Schema<search::SearchConfig>& search_schema() { return search::schema(); }
}  // namespace concnas::config::detail
