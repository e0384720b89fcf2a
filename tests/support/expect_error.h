#pragma once
// Checks shared by the bad-input tests: the call must throw the right concnas error, and
// its one-line message must name the right thing (and line, for parse errors).

#include <gtest/gtest.h>

#include <string>

#include "concnas/common/error.h"

namespace concnas::testing {

/// `f()` must throw an `E` whose message contains `fragment`.
template <typename E, typename F>
void expect_error_containing(F f, const std::string& fragment) {
  try {
    f();
    ADD_FAILURE() << "no error; expected one mentioning '" << fragment << "'";
  } catch (const E& e) {
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
}

/// `f()` must throw a `ParseError` at `line` (0: the file as a whole) whose message
/// contains `fragment`.
template <typename F>
void expect_parse_error_at(F f, int line, const std::string& fragment) {
  try {
    f();
    ADD_FAILURE() << "accepted; expected an error at line " << line << " mentioning '" << fragment << "'";
  } catch (const ParseError& e) {
    EXPECT_EQ(e.line(), line) << e.what();
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
}

}  // namespace concnas::testing
