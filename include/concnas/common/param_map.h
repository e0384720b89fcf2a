#pragma once
/// \file
/// Named numeric parameters of a pluggable component (`p=0.2`, `k=4`), kept in key order
/// so that anything written from them is byte-for-byte reproducible.
///
///     auto params = concnas::ParamMap::parse({"p=0.75", "k=4"});
///     double p = params.get("p");

#include <map>
#include <string>
#include <vector>

namespace concnas {

class ParamMap {
 public:
  ParamMap() = default;
  ParamMap(std::initializer_list<std::pair<const std::string, double>> values) : values_(values) {}

  /// Parses `KEY=VALUE` strings; a missing `=`, an empty key, a value that is not a
  /// finite number or a repeated key throws `InvalidArgument` naming the item.
  static ParamMap parse(const std::vector<std::string>& items);

  bool contains(const std::string& key) const { return values_.count(key) != 0; }
  /// The value of `key`; throws `InvalidArgument` when it is absent.
  double get(const std::string& key) const;
  void set(const std::string& key, double value) { values_[key] = value; }
  const std::map<std::string, double>& values() const { return values_; }
  bool operator==(const ParamMap& other) const { return values_ == other.values_; }

 private:
  std::map<std::string, double> values_;
};

/// The shortest text that reads back to exactly `value` ("0.2", "4", "1e-05").
std::string format_number(double value);

}  // namespace concnas
