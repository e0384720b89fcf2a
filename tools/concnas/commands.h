#pragma once
// The concnas subcommands. Each adds its options to the app and returns the action to run
// after parsing; actions throw concnas errors, which main turns into one line.

#include <exception>
#include <functional>

#include <CLI/CLI.hpp>

namespace concnas::cli {

using Action = std::function<void()>;

Action add_generate_command(CLI::App& app);
Action add_info_command(CLI::App& app);
Action add_score_command(CLI::App& app);
Action add_train_command(CLI::App& app);
Action add_search_command(CLI::App& app);
Action add_export_command(CLI::App& app);
Action add_run_command(CLI::App& app);
Action add_config_reference_command(CLI::App& app);
Action add_calibrate_command(CLI::App& app);
Action add_lcp_command(CLI::App& app);
Action add_stretch_command(CLI::App& app);
Action add_policy_command(CLI::App& app);

/// The exit code of a run stopped by Ctrl-C or SIGTERM, with everything finished saved.
inline constexpr int kExitInterrupted = 130;

/// Prints the one error line for `failure` and returns the exit code main gives it (130
/// interrupted, 2 bad input, 1 anything else); for code that cannot return to main.
int report_failure(const std::exception_ptr& failure);

}  // namespace concnas::cli
