#pragma once
// What the fuzz targets share (tests/fuzz/README.md). Each target feeds one parser of
// outside input; a concnas::Error is the parser refusing the input, which is fine. Any
// other exception escapes and libFuzzer reports it: the parser let a library's error or
// a standard exception through instead of one line naming the file.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>
#include <unistd.h>

#include "concnas/common/error.h"

namespace concnas::fuzz {

inline std::string as_text(const std::uint8_t* data, std::size_t size) {
  return std::string(reinterpret_cast<const char*>(data), size);
}

/// A folder of this process for targets whose parser reads files; removed at exit.
inline const std::string& scratch_folder() {
  struct Scratch {
    std::string dir;
    Scratch() : dir((std::filesystem::temp_directory_path() / ("concnas-fuzz-" + std::to_string(::getpid()))).string()) {
      std::filesystem::create_directories(dir);
    }
    ~Scratch() {
      std::error_code ignored;
      std::filesystem::remove_all(dir, ignored);
    }
  };
  static const Scratch scratch;
  return scratch.dir;
}

inline void write_bytes(const std::string& path, const std::uint8_t* data, std::size_t size) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
}

/// Runs `parse`; the parser's own refusal (concnas::Error) is an expected outcome.
template <typename F>
int refusal_is_fine(F&& parse) {
  try {
    parse();
  } catch (const Error&) {
  }
  return 0;
}

}  // namespace concnas::fuzz
