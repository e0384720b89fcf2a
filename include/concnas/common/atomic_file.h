#pragma once
/// \file
/// Writing result files so that a crash never leaves a partial one behind.
///
///     concnas::write_file_atomic("arch.yaml", text);  // temp file + fsync + rename

#include <string>

namespace concnas {

/// Writes `contents` to `path` through a temporary file in the same folder, flushed to
/// disk and renamed over `path`. Either the old file or the whole new one exists after a
/// crash, never a partial one. Throws `IoError`.
void write_file_atomic(const std::string& path, const std::string& contents);

/// Reads a whole file. Throws `IoError` naming the path when it cannot be read.
std::string read_file(const std::string& path);

}  // namespace concnas
