#pragma once
/// \file
/// Name -> implementation of one pluggable concept (generators, partitioners), filled by
/// explicit `register_*()` calls: no self-registering globals.
///
///     concnas::Registry<Generator> r("generator");
///     r.add(make_er_generator());
///     const Generator& er = r.get("er");  // unknown names list the known ones

#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "concnas/common/error.h"

namespace concnas {

/// `T` must have `std::string name() const`.
template <typename T>
class Registry {
 public:
  /// `kind` names the concept in error messages ("generator").
  explicit Registry(std::string kind) : kind_(std::move(kind)) {}

  /// Adds an implementation; throws `InvalidArgument` if its name is taken.
  void add(std::unique_ptr<T> item) {
    CONCNAS_CHECK(item != nullptr, "cannot register a null {}", kind_);
    for (const auto& existing : items_)
      CONCNAS_CHECK(existing->name() != item->name(), "{} '{}' is registered twice", kind_,
                    item->name());
    items_.push_back(std::move(item));
  }

  /// The implementation called `name`; throws `InvalidArgument` listing the known names.
  const T& get(const std::string& name) const {
    for (const auto& item : items_)
      if (item->name() == name) return *item;
    throw InvalidArgument(
        fmt::format("unknown {} '{}' (known: {})", kind_, name, fmt::join(names(), ", ")));
  }

  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const auto& item : items_) out.push_back(item->name());
    return out;
  }

 private:
  std::string kind_;
  std::vector<std::unique_ptr<T>> items_;
};

}  // namespace concnas
