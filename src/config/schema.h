#pragma once
// The one mechanism every config file is read with (private to src/config): a schema is a
// list of keys, each with its type, default, allowed range and a sentence of doc. The same
// list reads a section (unknown keys are errors that list the known ones), checks the
// values, writes the resolved YAML and generates docs/configuration.md's tables, so a key
// cannot be read but not written, checked or documented.

#include <yaml-cpp/yaml.h>

#include <functional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "concnas/common/error.h"
#include "concnas/common/param_map.h"
#include "yaml_reader.h"

namespace concnas::config::detail {

/// The values a key allows: `words` for the docs ("≥ 1"), `phrase` for errors ("must be at
/// least 1"), `allows` the test itself.
template <typename T>
struct Rule {
  std::string words;
  std::string phrase;
  std::function<bool(const T&)> allows;
};

template <typename T>
Rule<T> at_least(T min, const std::string& note = "") {
  return {fmt::format("≥ {}", min), fmt::format("must be at least {}{}", min, note),
          [min](const T& v) { return v >= min; }};
}
/// `rule` with an upper bound too: no accepted size may overflow a count or exhaust memory.
template <typename T>
Rule<T> up_to(Rule<T> rule, T max) {
  auto allows = rule.allows;
  return {fmt::format("{}, ≤ {}", rule.words, max), fmt::format("{} and at most {}", rule.phrase, max),
          [allows, max](const T& v) { return allows(v) && v <= max; }};
}

/// The same bound, worded as `>= min` (the older messages of some keys).
template <typename T>
Rule<T> not_below(T min, const std::string& note = "") {
  return {fmt::format("≥ {}", format_number(static_cast<double>(min))),
          fmt::format("must be >= {}{}", format_number(static_cast<double>(min)), note),
          [min](const T& v) { return v >= min; }};
}
template <typename T>
Rule<T> positive() {
  return {"> 0", "must be positive", [](const T& v) { return v > 0; }};
}
/// lo <= v <= hi, or v < hi with `open_high`, or lo < v with `open_low`.
inline Rule<double> within(double lo, double hi, bool open_low, bool open_high) {
  const std::string interval = fmt::format("{}{}, {}{}", open_low ? "(" : "[", format_number(lo),
                                           format_number(hi), open_high ? ")" : "]");
  return {interval, "must lie in " + interval, [=](const double& v) {
            return (open_low ? v > lo : v >= lo) && (open_high ? v < hi : v <= hi);
          }};
}
inline Rule<std::string> one_of(std::vector<std::string> allowed) {
  const std::string list = fmt::format("{}", fmt::join(allowed, ", "));
  std::vector<std::string> shown;
  for (const auto& a : allowed) shown.push_back(a.empty() ? "\"\"" : a);
  return {fmt::format("one of {}", fmt::join(shown, ", ")), "is not one of " + list, [allowed](const std::string& v) {
            for (const auto& a : allowed)
              if (v == a) return true;
            return false;
          }};
}

/// How a value of type T is named, read from YAML and written back.
template <typename T>
struct ValueCodec;

template <typename T>
struct IntegerCodec {
  static std::string type() { return "integer"; }
  static T read(const Reader& r, const YAML::Node& n, const std::string& key) {
    return r.scalar<T>(n, key, std::is_unsigned_v<T> ? "a non-negative integer" : "an integer");
  }
  static std::string write(const T& v) { return fmt::format("{}", v); }
  static std::string show(const T& v) { return write(v); }
};
template <>
struct ValueCodec<int> : IntegerCodec<int> {};
template <>
struct ValueCodec<std::int64_t> : IntegerCodec<std::int64_t> {};
template <>
struct ValueCodec<std::uint64_t> : IntegerCodec<std::uint64_t> {};
template <>
struct ValueCodec<double> {
  static std::string type() { return "number"; }
  static double read(const Reader& r, const YAML::Node& n, const std::string& key) { return r.number(n, key); }
  static std::string write(const double& v) { return format_number(v); }
  static std::string show(const double& v) { return write(v); }
};
template <>
struct ValueCodec<bool> {
  static std::string type() { return "boolean"; }
  static bool read(const Reader& r, const YAML::Node& n, const std::string& key) { return r.boolean(n, key); }
  static std::string write(const bool& v) { return v ? "true" : "false"; }
  static std::string show(const bool& v) { return write(v); }
};
template <>
struct ValueCodec<std::string> {
  static std::string type() { return "string"; }
  static std::string read(const Reader& r, const YAML::Node& n, const std::string& key) { return r.string(n, key); }
  static std::string write(const std::string& v) { return quoted(v); }
  static std::string show(const std::string& v) { return "'" + Reader::shown(v) + "'"; }
};
/// A list; a single value stands for a list of one.
template <typename T>
struct ValueCodec<std::vector<T>> {
  static std::string type() { return "list of " + ValueCodec<T>::type() + "s"; }
  static std::vector<T> read(const Reader& r, const YAML::Node& n, const std::string& key) {
    if (n.IsScalar()) return {ValueCodec<T>::read(r, n, key)};
    if (!n.IsSequence() || n.size() == 0) r.fail(n, fmt::format("'{}' must be a non-empty list", key));
    std::vector<T> out;
    for (const auto& item : n) out.push_back(ValueCodec<T>::read(r, item, key));
    return out;
  }
  static std::string write(const std::vector<T>& v) {
    std::vector<std::string> items;
    for (const auto& x : v) items.push_back(std::is_same_v<T, std::string> ? fmt::format("{}", x)
                                                                            : ValueCodec<T>::write(x));
    return fmt::format("[{}]", fmt::join(items, ", "));
  }
};

/// A value a key's rule refuses: the value as shown in errors and the rule's phrase.
struct Violation {
  std::string value;
  std::string phrase;  ///< empty: the value is allowed
};

/// One key of a section of config `C`.
template <typename C>
struct Key {
  std::string section;  ///< "train"; empty for a file's top level
  std::string name;     ///< "epochs"
  std::string type;
  std::string range;    ///< allowed values in words; empty: any of the type
  std::string doc;
  /// Empty for a key whose structure the file's reader checks itself (documented only).
  std::function<void(C&, const Reader&, const YAML::Node&, const std::string& dotted)> read;
  std::function<std::string(const C&)> write;  ///< the value as YAML flow text
  /// What the key's rule says of its value in `c` (no rule: always allowed).
  std::function<Violation(const C&)> violation;

  std::string dotted() const { return section.empty() ? name : section + "." + name; }
};

/// A key whose value `access(config)` is a plain field: its type, reading and writing
/// follow from the field's type; `rule` (for a list: for each element) checks it.
template <typename C, typename Access,
          typename T = std::decay_t<decltype(std::declval<Access>()(std::declval<C&>()))>>
Key<C> field(std::string section, std::string name, Access access, std::string doc) {
  Key<C> k{std::move(section), std::move(name), ValueCodec<T>::type(), "", std::move(doc), {}, {}, {}};
  k.read = [access](C& c, const Reader& r, const YAML::Node& n, const std::string& dotted) {
    access(c) = ValueCodec<T>::read(r, n, dotted);
  };
  k.write = [access](const C& c) { return ValueCodec<T>::write(access(const_cast<C&>(c))); };
  return k;
}

template <typename C, typename Access, typename V>
Key<C> field(std::string section, std::string name, Access access, std::string doc, Rule<V> rule) {
  Key<C> k = field<C>(std::move(section), std::move(name), access, std::move(doc));
  k.range = rule.words;
  k.violation = [access, rule](const C& c) -> Violation {
    const auto& value = access(const_cast<C&>(c));
    if constexpr (std::is_same_v<std::decay_t<decltype(value)>, V>) {
      if (!rule.allows(value)) return {ValueCodec<V>::show(value), rule.phrase};
    } else {
      for (const auto& v : value)
        if (!rule.allows(v)) return {ValueCodec<V>::show(v), rule.phrase};
    }
    return {};
  };
  return k;
}

/// `k` with allowed values `range` in the docs, checked elsewhere (they depend on another
/// key, or a library type checks them itself).
template <typename C>
Key<C> checked_elsewhere(Key<C> k, std::string range) {
  k.range = std::move(range);
  return k;
}

template <typename C>
class Schema {
 public:
  explicit Schema(std::vector<Key<C>> keys) : keys_(std::move(keys)) {}
  const std::vector<Key<C>>& keys() const { return keys_; }

  std::vector<std::string> names_in(const std::string& section) const {
    std::vector<std::string> out;
    for (const auto& k : keys_)
      if (k.section == section) out.push_back(k.name);
    return out;
  }

  const Key<C>* find(const std::string& section, const std::string& name) const {
    for (const auto& k : keys_)
      if (k.section == section && k.name == name) return &k;
    return nullptr;
  }

  /// Throws a located error on a key of `node` (section `section`) the schema lacks.
  void check_known(const Reader& r, const YAML::Node& node, const std::string& section) const {
    if (!node.IsMap()) r.fail(node, fmt::format("'{}' must be a mapping", section));
    const auto known = names_in(section);
    for (const auto& kv : node) {
      const auto key = r.key(kv.first, section);
      if (std::find(known.begin(), known.end(), key) == known.end())
        r.fail(kv.first, fmt::format("unknown key '{}{}' (known: {})", section.empty() ? "" : section + ".", key,
                                     fmt::join(known, ", ")));
    }
  }

  /// Reads every key of section `section` present in `node` (a checked mapping) into `c`.
  void read(C& c, const Reader& r, const YAML::Node& node, const std::string& section) const {
    check_known(r, node, section);
    for (const auto& k : keys_)
      if (k.section == section && k.read && node[k.name]) k.read(c, r, node[k.name], k.dotted());
  }

  /// Every key's rule, in schema order: the first bad value throws `InvalidArgument`
  /// "section.key: value phrase".
  void check(const C& c) const {
    for (const auto& k : keys_) {
      if (!k.violation) continue;
      const auto v = k.violation(c);
      if (!v.phrase.empty()) throw InvalidArgument(fmt::format("{}: {} {}", k.dotted(), v.value, v.phrase));
    }
  }

  /// Reads the keys of `node` (a mapping of one record, e.g. one device; `where` names it
  /// in errors) into `c` and checks each where it stands: a bad value is a located error
  /// "'where.key' phrase". Keys in `required` must be present.
  void read_record(C& c, const Reader& r, const YAML::Node& node, const std::string& where,
                   const std::vector<std::string>& required = {}) const {
    if (!node.IsMap()) r.fail(node, fmt::format("'{}' must be a mapping", where));
    for (const auto& kv : node) {
      const auto key = r.key(kv.first, where);
      if (!find("", key)) r.fail(kv.first, fmt::format("unknown key '{}.{}' (known: {})", where, key,
                                                       fmt::join(names_in(""), ", ")));
    }
    for (const auto& key : required) r.need(node, key.c_str(), where);
    for (const auto& k : keys_) {
      if (!node[k.name]) continue;
      k.read(c, r, node[k.name], where + "." + k.name);
      if (!k.violation) continue;
      const auto v = k.violation(c);
      if (!v.phrase.empty()) r.fail(node[k.name], fmt::format("'{}.{}' {}", where, k.name, v.phrase));
    }
  }

  /// The sections `sections` with every key, as YAML ("section:\n  key: value\n").
  std::string yaml(const C& c, const std::vector<std::string>& sections) const {
    std::string out;
    for (const auto& section : sections) {
      out += section + ":\n";
      for (const auto& k : keys_)
        if (k.section == section) out += fmt::format("  {}: {}\n", k.name, k.write(c));
    }
    return out;
  }

  /// A Markdown table of section `section`: key, type, default (from `defaults`), range, meaning.
  std::string markdown(const std::string& section, const C& defaults) const {
    std::string out = "| key | type | default | allowed | meaning |\n|---|---|---|---|---|\n";
    for (const auto& k : keys_)
      if (k.section == section)
        out += fmt::format("| `{}` | {} | {} | {} | {} |\n", k.dotted(), k.type,
                           k.write ? "`" + k.write(defaults) + "`" : std::string("-"),
                           k.range.empty() ? "any" : k.range, k.doc);
    return out;
  }

 private:
  std::vector<Key<C>> keys_;
};

}  // namespace concnas::config::detail
