#pragma once
/// \file
/// The architecture file: versioned YAML recording everything needed to rebuild a
/// network (where the DAG came from, the DAG, network options, per-vertex staging,
/// shapes and scaling blocks). docs/architecture_format.md describes every key.
///
///     concnas::config::save_architecture(arch, "arch.yaml");
///     auto back = concnas::config::load_architecture("arch.yaml");  // back == arch
///
/// Loading rebuilds the network from the DAG and the recorded staging decisions and
/// checks that every recorded shape and scaling block agrees with the rebuild, so a file
/// edited into an inconsistent state is rejected rather than silently trained.

#include <string>

#include "concnas/arch/architecture.h"

namespace concnas::config {

/// The newest format version this build reads and writes. Files are written in the lowest
/// version that expresses the network (version 1 when it uses no version 2 key) and every
/// version from 1 up is read.
inline constexpr int kArchitectureFormatVersion = 2;

/// The YAML text of `arch`. Deterministic: the same architecture gives the same bytes.
std::string architecture_to_yaml(const arch::Architecture& arch);

/// Parses architecture YAML; `source` names the file in errors. Throws `ParseError`
/// naming the file, line and key on a malformed, incomplete or inconsistent file.
arch::Architecture architecture_from_yaml(const std::string& text, const std::string& source);

/// Writes `arch` to `path` atomically.
void save_architecture(const arch::Architecture& arch, const std::string& path);
/// Reads `path`; throws `IoError` or `ParseError`.
arch::Architecture load_architecture(const std::string& path);

}  // namespace concnas::config
