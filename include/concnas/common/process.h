#pragma once
/// \file
/// Running another program without a shell: arguments are passed as they are, so file
/// names need no quoting, and the exit status is checked by the caller.
///
///     if (concnas::program_on_path("dot"))
///       concnas::run_program({"dot", "-Tsvg", "arch.dot", "-o", "arch.svg"});  // 0: done

#include <string>
#include <vector>

namespace concnas {

/// Whether `name` is an executable file in one of PATH's folders.
bool program_on_path(const std::string& name);

/// Runs `argv` (argv[0] looked up in PATH) and waits for it. Returns its exit status, or
/// -1 when it could not be started or died of a signal. With `log` set, its standard
/// output and error go to that file instead of this process's.
int run_program(const std::vector<std::string>& argv, const std::string& log = "");

}  // namespace concnas
