#pragma once
/// \file
/// The small set of exception types concnas throws, and `CONCNAS_CHECK`.
///
/// The library never prints and never aborts: it throws one of these, and the CLI turns
/// the message into one error line and an exit code.
///
///     CONCNAS_CHECK(nodes >= 2, "--nodes must be at least 2, got {}", nodes);

#include <stdexcept>
#include <string>

#include <fmt/format.h>

namespace concnas {

/// Base of every concnas error. `what()` is one line meant for a person.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

/// A value given by the caller (option, parameter, flag) is out of range or unknown.
class InvalidArgument : public Error {
 public:
  using Error::Error;
};

/// A file's contents are malformed. The message names the file and, where known, the line.
class ParseError : public Error {
 public:
  /// `line` is 1-based; 0 means "no line" (a problem with the file as a whole).
  ParseError(const std::string& file, int line, const std::string& what);
  const std::string& file() const { return file_; }
  int line() const { return line_; }
  /// The message without the file and line.
  const std::string& detail() const { return detail_; }

 private:
  std::string file_;
  int line_;
  std::string detail_;
};

/// A file could not be opened, read or written.
class IoError : public Error {
 public:
  using Error::Error;
};

/// The first line of `text`: LibTorch's messages carry a backtrace after it.
inline std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

}  // namespace concnas

/// Throws `concnas::InvalidArgument` with a fmt-formatted message when `cond` is false.
#define CONCNAS_CHECK(cond, ...)                                  \
  do {                                                            \
    if (!(cond)) throw ::concnas::InvalidArgument(fmt::format(__VA_ARGS__)); \
  } while (false)
