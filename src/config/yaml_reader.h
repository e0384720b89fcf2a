#pragma once
// Strict YAML reading shared by the config parsers (private to src/config): every error
// names the file, the line and the key.

#include <yaml-cpp/yaml.h>

#include <initializer_list>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "concnas/arch/architecture.h"
#include "concnas/common/error.h"

namespace concnas::config::detail {

class Reader {
 public:
  explicit Reader(std::string source) : source_(std::move(source)) {}

  [[noreturn]] void fail(const YAML::Node& node, const std::string& what) const {
    const int line = node.IsDefined() && node.Mark().line >= 0 ? node.Mark().line + 1 : 0;
    throw ParseError(source_, line, what);
  }

  // A key of the mapping `where` as text; a key that is not a plain scalar (`{[1]: 2}`) is
  // a located error, not yaml-cpp's conversion message.
  std::string key(const YAML::Node& k, const std::string& where) const {
    if (!k.IsScalar())
      fail(k, where.empty() ? std::string("a top-level key must be a plain name, not a list or mapping")
                            : fmt::format("a key of '{}' must be a plain name, not a list or mapping", where));
    return k.Scalar();
  }

  // A value as it may appear in a one-line error: at most 60 characters.
  static std::string shown(const std::string& text) {
    return text.size() <= 60 ? text : text.substr(0, 57) + "...";
  }

  // A mapping whose keys must all be in `allowed`; `where` names it in errors.
  void check_map(const YAML::Node& node, const std::string& where,
                 std::initializer_list<const char*> allowed) const {
    check_map(node, where, std::vector<std::string>(allowed.begin(), allowed.end()));
  }
  void check_map(const YAML::Node& node, const std::string& where, const std::vector<std::string>& allowed) const {
    if (!node.IsMap()) fail(node, fmt::format("'{}' must be a mapping", where));
    for (const auto& kv : node) {
      const auto key = this->key(kv.first, where);
      bool ok = false;
      for (const auto& a : allowed) ok = ok || key == a;
      if (!ok) fail(kv.first, fmt::format("unknown key '{}{}'", where.empty() ? "" : where + ".", key));
    }
  }

  YAML::Node need(const YAML::Node& parent, const char* key, const std::string& where) const {
    const YAML::Node n = parent[key];
    if (!n) fail(parent, fmt::format("missing key '{}{}'", where.empty() ? "" : where + ".", key));
    return n;
  }

  template <typename T>
  T scalar(const YAML::Node& node, const std::string& key, const char* kind) const {
    if (!node.IsScalar()) fail(node, fmt::format("'{}' must be {}", key, kind));
    try {
      return node.as<T>();
    } catch (const YAML::Exception&) {
      fail(node, fmt::format("'{}' must be {}, got '{}'", key, kind, shown(node.Scalar())));
    }
  }
  int integer(const YAML::Node& n, const std::string& key) const {
    return scalar<int>(n, key, "an integer");
  }
  double number(const YAML::Node& n, const std::string& key) const {
    return scalar<double>(n, key, "a number");
  }
  bool boolean(const YAML::Node& n, const std::string& key) const {
    return scalar<bool>(n, key, "true or false");
  }
  std::string string(const YAML::Node& n, const std::string& key) const {
    return scalar<std::string>(n, key, "a string");
  }

  std::vector<int> ids(const YAML::Node& n, const std::string& key) const {
    if (!n.IsSequence()) fail(n, fmt::format("'{}' must be a list of vertex ids", key));
    std::vector<int> out;
    for (const auto& item : n) out.push_back(integer(item, key));
    return out;
  }

  arch::Shape shape(const YAML::Node& n, const std::string& key) const {
    if (!n.IsSequence() || n.size() != 3)
      fail(n, fmt::format("'{}' must be [channels, height, width]", key));
    return {integer(n[0], key), integer(n[1], key), integer(n[2], key)};
  }

  // Converts a library error about a value into a located parse error.
  template <typename F>
  auto located(const YAML::Node& node, F f) const -> decltype(f()) {
    try {
      return f();
    } catch (const InvalidArgument& e) {
      fail(node, e.what());
    }
  }

 private:
  std::string source_;
};

/// `s` as a double-quoted YAML scalar.
inline std::string quoted(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

/// Parses YAML text; a syntax error becomes a `ParseError` at its line.
inline YAML::Node load_yaml(const std::string& text, const std::string& source) {
  try {
    return YAML::Load(text);
  } catch (const YAML::ParserException& e) {
    throw ParseError(source, e.mark.line + 1, fmt::format("invalid YAML: {}", e.msg));
  }
}

}  // namespace concnas::config::detail
