// concnas: the command-line front end. Library errors become one line on stderr and an
// exit code: 2 for usage errors (bad flags or values), 1 for everything else.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "commands.h"
#include "concnas/common/error.h"
#include "concnas/search/runner.h"

namespace {

constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

int error_line(int code, const std::string& message) {
  std::fprintf(stderr, "concnas: error: %s\n", message.c_str());
  return code;
}

// The one-line error for a first word that is no command, or nothing.
std::optional<std::string> unknown_command(CLI::App& app, const std::string& word) {
  std::string names;
  for (const auto* sub : app.get_subcommands({})) {
    if (sub->get_name() == word) return std::nullopt;
    names += (names.empty() ? "" : ", ") + sub->get_name();
  }
  return "unknown command '" + word + "' (known: " + names + "; see --help)";
}

}  // namespace

int concnas::cli::report_failure(const std::exception_ptr& failure) {
  try {
    std::rethrow_exception(failure);
  } catch (const concnas::search::Interrupted& e) {
    return error_line(concnas::cli::kExitInterrupted, e.what());
  } catch (const concnas::InvalidArgument& e) {
    return error_line(kExitUsage, e.what());
  } catch (const concnas::Error& e) {
    return error_line(kExitFailure, e.what());
  } catch (const std::exception& e) {
    // Keep to one line: LibTorch's messages carry a backtrace.
    return error_line(kExitFailure, "unexpected: " + concnas::first_line(e.what()));
  } catch (...) {
    return error_line(kExitFailure, "unexpected failure (not a std::exception)");
  }
}

int main(int argc, char** argv) {
  CLI::App app{"concnas: search, score, train and deploy concurrent neural architectures"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "concnas 0.1.0");
  std::string log_level = "info";
  const std::map<std::string, spdlog::level::level_enum> levels{
      {"trace", spdlog::level::trace}, {"debug", spdlog::level::debug},
      {"info", spdlog::level::info},   {"warn", spdlog::level::warn},
      {"error", spdlog::level::err},   {"off", spdlog::level::off}};
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error or off")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}));

  // Each subcommand's name (as it registered itself) with its action.
  std::vector<std::pair<std::string, concnas::cli::Action>> commands;
  for (auto add : {concnas::cli::add_generate_command, concnas::cli::add_info_command, concnas::cli::add_score_command,
                   concnas::cli::add_train_command, concnas::cli::add_search_command, concnas::cli::add_export_command,
                   concnas::cli::add_run_command, concnas::cli::add_config_reference_command,
                   concnas::cli::add_calibrate_command, concnas::cli::add_lcp_command,
                   concnas::cli::add_stretch_command, concnas::cli::add_policy_command}) {
    auto action = add(app);
    commands.emplace_back(app.get_subcommands({}).back()->get_name(), std::move(action));
  }
  if (argc > 1 && argv[1][0] != '-') {
    if (const auto refused = unknown_command(app, argv[1])) return error_line(kExitUsage, *refused);
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::string what = e.what();
    if (what.empty()) what = e.get_name();
    return error_line(kExitUsage, what + " (see --help)");
  }

  auto logger = spdlog::stderr_color_mt("concnas");
  logger->set_pattern("[%H:%M:%S.%e] [%^%l%$] %v");
  spdlog::set_default_logger(logger);
  spdlog::set_level(levels.at(log_level));

  try {
    for (const auto& [name, action] : commands)
      if (app.got_subcommand(name)) action();
  } catch (const std::exception&) {
    return concnas::cli::report_failure(std::current_exception());
  }
  return 0;
}
