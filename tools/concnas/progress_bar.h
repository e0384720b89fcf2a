#pragma once
// The live progress line that `search` and `train` draw on a terminal (CI logs get plain
// lines from each command instead).

#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <string>

namespace concnas::cli {

inline bool stderr_is_terminal() { return ::isatty(STDERR_FILENO) != 0; }

/// Redraws "LABEL [####      ] SUFFIX" in place on stderr; ends the line once done == total.
inline void draw_progress_bar(const std::string& label, std::int64_t done, std::int64_t total,
                              int width, const std::string& suffix) {
  const int filled = total > 0 ? static_cast<int>(width * std::min(done, total) / total) : width;
  std::fprintf(stderr, "\r\033[K%s [%s%s] %s", label.c_str(), std::string(filled, '#').c_str(),
               std::string(width - filled, ' ').c_str(), suffix.c_str());
  if (done == total) std::fprintf(stderr, "\n");
  std::fflush(stderr);
}

}  // namespace concnas::cli
