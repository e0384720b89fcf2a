#include "concnas/search/search_config.h"

#include <algorithm>
#include <cmath>

#include <fmt/ranges.h>

#include "concnas/common/atomic_file.h"
#include "concnas/graph/generator.h"
#include "concnas/partition/partitioner.h"
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

template <typename T>
std::vector<T> list_of(const Reader& r, const YAML::Node& n, const std::string& key,
                       const char* kind) {
  std::vector<T> out;
  if (n.IsScalar()) {
    out.push_back(r.scalar<T>(n, key, kind));
  } else {
    if (!n.IsSequence() || n.size() == 0) r.fail(n, fmt::format("'{}' must be a non-empty list", key));
    for (const auto& item : n) out.push_back(r.scalar<T>(item, key, kind));
  }
  return out;
}

ParamRange range_of(const Reader& r, const YAML::Node& n, const std::string& key) {
  if (n.IsMap()) {
    r.check_map(n, key, {"choices"});
    ParamRange p;
    p.choices = list_of<double>(r, r.need(n, "choices", key), key + ".choices", "a number");
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

void read_search(SearchSection& s, const Reader& r, const YAML::Node& n) {
  r.check_map(n, "search", {"seed", "candidates", "units", "epsilons", "partitioner", "objective",
                            "threads", "select", "rungs", "keep"});
  if (n["seed"]) s.seed = r.scalar<std::uint64_t>(n["seed"], "search.seed", "a non-negative integer");
  if (n["candidates"]) s.candidates = r.integer(n["candidates"], "search.candidates");
  if (n["units"]) s.units = r.integer(n["units"], "search.units");
  if (n["epsilons"]) s.epsilons = list_of<double>(r, n["epsilons"], "search.epsilons", "a number");
  if (n["partitioner"]) s.partitioner = r.string(n["partitioner"], "search.partitioner");
  if (n["objective"]) s.objective = r.string(n["objective"], "search.objective");
  if (n["threads"]) s.threads = r.integer(n["threads"], "search.threads");
  if (n["select"]) s.select = r.integer(n["select"], "search.select");
  if (n["keep"]) s.keep = r.number(n["keep"], "search.keep");
  if (const auto rungs = n["rungs"]) {
    if (!rungs.IsSequence())
      r.fail(rungs, "'search.rungs' must be a list of {train_subset, epochs} ([] = score only)");
    s.rungs.clear();
    for (const auto& item : rungs) {
      r.check_map(item, "search.rungs[]", {"train_subset", "epochs"});
      Rung rung;
      if (item["train_subset"])
        rung.train_subset = r.scalar<std::int64_t>(item["train_subset"], "search.rungs[].train_subset", "an integer");
      if (item["epochs"]) rung.epochs = r.integer(item["epochs"], "search.rungs[].epochs");
      s.rungs.push_back(rung);
    }
  }
}

void read_space(SearchSpace& s, const Reader& r, const YAML::Node& n) {
  r.check_map(n, "space", {"generators", "nodes", "staging", "stage_probability", "stem_channels",
                           "channel_limit", "orientation", "aggregation", "baselines",
                           "baseline_nodes", "baseline_stem_channels", "baseline_channel_limit"});
  if (const auto g = n["generators"]) {
    if (!g.IsMap() || g.size() == 0)
      r.fail(g, "'space.generators' must map generator names (er, ba, ws, dp) to their parameters");
    s.generators.clear();
    const auto registry = graph::builtin_generators();
    for (const auto& kv : g) {
      GeneratorSpace gs;
      gs.name = kv.first.as<std::string>();
      const std::string key = "space.generators." + gs.name;
      r.located(kv.first, [&]() -> const graph::Generator& { return registry.get(gs.name); });
      if (!kv.second.IsNull()) {
        if (!kv.second.IsMap()) r.fail(kv.second, fmt::format("'{}' must map parameters to values or ranges", key));
        for (const auto& p : kv.second) {
          const auto name = p.first.as<std::string>();
          gs.params[name] = range_of(r, p.second, key + "." + name);
        }
      }
      s.generators.push_back(gs);
    }
  }
  if (n["nodes"]) s.nodes = list_of<int>(r, n["nodes"], "space.nodes", "an integer");
  if (n["staging"]) s.staging = list_of<std::string>(r, n["staging"], "space.staging", "a string");
  if (n["stage_probability"]) s.stage_probability = r.number(n["stage_probability"], "space.stage_probability");
  if (n["stem_channels"]) s.stem_channels = list_of<int>(r, n["stem_channels"], "space.stem_channels", "an integer");
  if (n["channel_limit"]) s.channel_limit = list_of<int>(r, n["channel_limit"], "space.channel_limit", "an integer");
  if (n["orientation"]) s.orientation = r.string(n["orientation"], "space.orientation");
  if (n["aggregation"]) s.aggregation = r.string(n["aggregation"], "space.aggregation");
  if (const auto b = n["baselines"]) {
    s.baselines.clear();
    if (!b.IsSequence()) r.fail(b, "'space.baselines' must be a list (chain, randwire; [] for none)");
    for (const auto& item : b) s.baselines.push_back(r.string(item, "space.baselines"));
  }
  if (n["baseline_nodes"]) s.baseline_nodes = r.integer(n["baseline_nodes"], "space.baseline_nodes");
  if (n["baseline_stem_channels"])
    s.baseline_stem_channels = r.integer(n["baseline_stem_channels"], "space.baseline_stem_channels");
  if (n["baseline_channel_limit"])
    s.baseline_channel_limit = r.integer(n["baseline_channel_limit"], "space.baseline_channel_limit");
}

void read_constraints(Constraints& c, const Reader& r, const YAML::Node& n) {
  r.check_map(n, "constraints", {"max_params", "max_flops", "max_latency_ms"});
  if (n["max_params"])
    c.max_params = r.scalar<std::int64_t>(n["max_params"], "constraints.max_params", "an integer");
  if (n["max_flops"])
    c.max_flops = r.scalar<std::int64_t>(n["max_flops"], "constraints.max_flops", "an integer");
  if (n["max_latency_ms"]) c.max_latency_ms = r.number(n["max_latency_ms"], "constraints.max_latency_ms");
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

std::string list_yaml(const std::vector<std::string>& items) { return fmt::format("[{}]", fmt::join(items, ", ")); }
template <typename T>
std::string number_list(const std::vector<T>& values) {
  std::vector<std::string> items;
  for (const auto& v : values) items.push_back(format_number(static_cast<double>(v)));
  return list_yaml(items);
}

}  // namespace

void SearchConfig::sanity_check() const {
  const auto& s = search;
  CONCNAS_CHECK(s.candidates >= 0, "search.candidates: {} must be >= 0", s.candidates);
  CONCNAS_CHECK(s.units >= 2, "search.units: {} must be at least 2", s.units);
  CONCNAS_CHECK(!s.epsilons.empty(), "search.epsilons: give at least one balance bound");
  for (double e : s.epsilons)
    CONCNAS_CHECK(e >= 1, "search.epsilons: {} must be >= 1", format_number(e));
  const auto partitioners = partition::builtin_partitioners().names();
  CONCNAS_CHECK(std::find(partitioners.begin(), partitioners.end(), s.partitioner) != partitioners.end(),
                "search.partitioner: '{}' is not one of {}", s.partitioner, fmt::join(partitioners, ", "));
  check_one_of(s.objective, {"latency", "cs"}, "search.objective");
  CONCNAS_CHECK(s.threads >= 0, "search.threads: {} must be >= 0 (0 = all cores)", s.threads);
  CONCNAS_CHECK(s.select >= 1, "search.select: {} must be at least 1", s.select);
  CONCNAS_CHECK(s.keep > 0 && s.keep <= 1, "search.keep: {} must lie in (0, 1]", format_number(s.keep));
  for (const auto& r : s.rungs) {
    CONCNAS_CHECK(r.epochs >= 1, "search.rungs: epochs {} must be at least 1", r.epochs);
    CONCNAS_CHECK(r.train_subset >= 0, "search.rungs: train_subset {} must be >= 0", r.train_subset);
  }
  CONCNAS_CHECK(s.candidates == 0 || !space.generators.empty(),
                "space.generators: name at least one generator to sample from");
  for (int n : space.nodes) CONCNAS_CHECK(n >= 2, "space.nodes: {} must be at least 2", n);
  // Every value a candidate can draw must suit its generator at every vertex count: try
  // them all now (the ends of a real range), so no sample fails half-way through a search.
  const auto registry = graph::builtin_generators();
  for (const auto& g : space.generators) {
    const auto& generator = registry.get(g.name);
    for (const auto& [name, range] : g.params) {
      std::vector<double> values = range.choices;
      if (values.empty() && range.whole() && range.hi - range.lo <= 64)
        for (double v = range.lo; v <= range.hi; ++v) values.push_back(v);
      else if (values.empty())
        values = {range.lo, range.hi};
      for (double v : values)
        for (int n : space.nodes) {
          ParamMap probe;
          probe.set(name, v);
          try {
            generator.generate(n, probe, 0);
          } catch (const InvalidArgument& e) {
            throw InvalidArgument(fmt::format("space.generators.{}.{}: {} = {} at {} vertices: {}", g.name, name,
                                              name, format_number(v), n, e.what()));
          }
        }
    }
  }
  for (const auto& st : space.staging) check_one_of(st, {"uniform", "greedy", "probabilistic"}, "space.staging");
  CONCNAS_CHECK(space.stage_probability >= 0 && space.stage_probability <= 1,
                "space.stage_probability: {} must lie in [0, 1]", format_number(space.stage_probability));
  for (int c : space.stem_channels) CONCNAS_CHECK(c >= 1, "space.stem_channels: {} must be positive", c);
  for (int c : space.channel_limit) CONCNAS_CHECK(c >= 1, "space.channel_limit: {} must be positive", c);
  // Every combination must be a valid network: the smallest limit holds the widest stem.
  const int widest_stem = *std::max_element(space.stem_channels.begin(), space.stem_channels.end());
  const int lowest_limit = *std::min_element(space.channel_limit.begin(), space.channel_limit.end());
  CONCNAS_CHECK(lowest_limit >= widest_stem,
                "space.channel_limit: {} is below stem_channels {} (every combination is sampled)", lowest_limit,
                widest_stem);
  if (base.data.dataset == "synthetic")
    CONCNAS_CHECK(base.data.validation < base.data.synthetic_train,
                  "data.validation: {} leaves nothing of the {} synthetic training images", base.data.validation,
                  base.data.synthetic_train);
  check_one_of(space.orientation, {"dfs", "index"}, "space.orientation");
  check_one_of(space.aggregation, {"randwire", "sigmoid_inputs"}, "space.aggregation");
  for (const auto& b : space.baselines) check_one_of(b, {"chain", "randwire"}, "space.baselines");
  CONCNAS_CHECK(space.baseline_nodes >= 2, "space.baseline_nodes: {} must be at least 2", space.baseline_nodes);
  if (std::find(space.baselines.begin(), space.baselines.end(), "randwire") != space.baselines.end())
    CONCNAS_CHECK(space.baseline_nodes >= 15,
                  "space.baseline_nodes: {} is too few for the randwire baseline (3 stages of WS k=4 "
                  "need at least 15)", space.baseline_nodes);
  if (std::find(space.baselines.begin(), space.baselines.end(), "randwire") != space.baselines.end())
    CONCNAS_CHECK(2 * space.baseline_stem_channels < space.baseline_channel_limit,
                  "space.baseline_channel_limit: {} leaves the randwire baseline no room to stage twice "
                  "(its stages have {}, {} and {} channels: the limit must exceed {})",
                  space.baseline_channel_limit, space.baseline_stem_channels, 2 * space.baseline_stem_channels,
                  4 * space.baseline_stem_channels, 2 * space.baseline_stem_channels);
  CONCNAS_CHECK(constraints.max_params >= 0, "constraints.max_params: must be >= 0 (0 = no limit)");
  CONCNAS_CHECK(constraints.max_flops >= 0, "constraints.max_flops: must be >= 0 (0 = no limit)");
  CONCNAS_CHECK(constraints.max_latency_ms >= 0, "constraints.max_latency_ms: must be >= 0 (0 = no limit)");
  CONCNAS_CHECK(base.data.validation > 0,
                "data.validation: a search selects by validation accuracy; it needs a validation split (> 0)");
  CONCNAS_CHECK(base.arch.file.empty(), "arch: a search samples its architectures; drop the arch section");
}

SearchConfig parse_search_config(const std::string& text, const std::string& source,
                                 const std::vector<std::string>& overrides) {
  Reader r(source);
  YAML::Node root = config::detail::load_config_root(text, source);
  r.check_map(root, "", {"search", "space", "constraints", "data", "train"});
  const auto train_overrides = apply_own_overrides(root, overrides);
  SearchConfig c;
  c.base = config::detail::parse_train_sections(root, source, train_overrides);
  // Defaults that suit a search better than a single run.
  if (!root["space"] || !root["space"]["generators"])
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
    if (root["search"]) read_search(c.search, r, root["search"]);
    if (root["space"]) read_space(c.space, r, root["space"]);
    if (root["constraints"]) read_constraints(c.constraints, r, root["constraints"]);
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
  return c;
}

SearchConfig load_search_config(const std::string& path, const std::vector<std::string>& overrides) {
  return parse_search_config(read_file(path), path, overrides);
}

std::string to_yaml(const SearchConfig& c) {
  const auto& s = c.search;
  std::string out = "# resolved concnas search config: every key (docs/search.md)\n";
  std::vector<std::string> rungs;
  for (const auto& r : s.rungs) rungs.push_back(fmt::format("{{train_subset: {}, epochs: {}}}", r.train_subset, r.epochs));
  out += fmt::format(
      "search:\n  seed: {}\n  candidates: {}\n  units: {}\n  epsilons: {}\n  partitioner: {}\n"
      "  objective: {}\n  threads: {}\n  select: {}\n  rungs: {}\n  keep: {}\n",
      s.seed, s.candidates, s.units, number_list(s.epsilons), s.partitioner, s.objective, s.threads,
      s.select, list_yaml(rungs), format_number(s.keep));
  const auto& sp = c.space;
  out += "space:\n  generators:\n";
  for (const auto& g : sp.generators) {
    std::vector<std::string> params;
    for (const auto& [name, range] : g.params)
      params.push_back(!range.choices.empty() ? fmt::format("{}: {{choices: {}}}", name, number_list(range.choices))
                       : range.lo == range.hi
                           ? fmt::format("{}: {}", name, format_number(range.lo))
                           : fmt::format("{}: [{}, {}]", name, format_number(range.lo), format_number(range.hi)));
    out += fmt::format("    {}: {{{}}}\n", g.name, fmt::join(params, ", "));
  }
  out += fmt::format(
      "  nodes: {}\n  staging: {}\n  stage_probability: {}\n  stem_channels: {}\n  channel_limit: {}\n"
      "  orientation: {}\n  aggregation: {}\n  baselines: {}\n  baseline_nodes: {}\n"
      "  baseline_stem_channels: {}\n  baseline_channel_limit: {}\n",
      number_list(sp.nodes), list_yaml(sp.staging), format_number(sp.stage_probability),
      number_list(sp.stem_channels), number_list(sp.channel_limit), sp.orientation, sp.aggregation,
      list_yaml(sp.baselines), sp.baseline_nodes, sp.baseline_stem_channels, sp.baseline_channel_limit);
  out += fmt::format("constraints:\n  max_params: {}\n  max_flops: {}\n  max_latency_ms: {}\n",
                     c.constraints.max_params, c.constraints.max_flops,
                     format_number(c.constraints.max_latency_ms));
  return out + config::detail::sections_to_yaml(c.base, {"data", "train"});
}

}  // namespace concnas::search
