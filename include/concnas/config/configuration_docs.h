#pragma once
/// \file
/// docs/configuration.md, generated from the schemas the config files are read with, so
/// the reference cannot drift from the code (a test compares the two).
///
///     std::cout << concnas::config::configuration_reference();

#include <string>

namespace concnas::config {

/// Every key of the training config, the search config, the devices file and plan.yaml:
/// type, default, allowed values and meaning, as Markdown.
std::string configuration_reference();

}  // namespace concnas::config
