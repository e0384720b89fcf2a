// concnas: the command-line front end. Library errors become one line on stderr and an
// exit code: 2 for usage errors (bad flags or values), 1 for everything else.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <map>

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

}  // namespace

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

  const auto generate = concnas::cli::add_generate_command(app);
  const auto info = concnas::cli::add_info_command(app);
  const auto score = concnas::cli::add_score_command(app);
  const auto train = concnas::cli::add_train_command(app);
  const auto search = concnas::cli::add_search_command(app);
  const auto export_ = concnas::cli::add_export_command(app);
  const auto run = concnas::cli::add_run_command(app);
  const auto config_reference = concnas::cli::add_config_reference_command(app);
  const auto calibrate = concnas::cli::add_calibrate_command(app);

  if (argc > 1 && argv[1][0] != '-') {
    bool known = false;
    std::string names;
    for (const auto* sub : app.get_subcommands({})) {
      known = known || sub->get_name() == argv[1];
      names += (names.empty() ? "" : ", ") + sub->get_name();
    }
    if (!known)
      return error_line(kExitUsage, std::string("unknown command '") + argv[1] + "' (known: " + names + "; see --help)");
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
    if (app.got_subcommand("generate")) generate();
    if (app.got_subcommand("info")) info();
    if (app.got_subcommand("score")) score();
    if (app.got_subcommand("train")) train();
    if (app.got_subcommand("search")) search();
    if (app.got_subcommand("export")) export_();
    if (app.got_subcommand("run")) run();
    if (app.got_subcommand("config-reference")) config_reference();
    if (app.got_subcommand("calibrate")) calibrate();
  } catch (const concnas::search::Interrupted& e) {
    return error_line(130, e.what());
  } catch (const concnas::InvalidArgument& e) {
    return error_line(kExitUsage, e.what());
  } catch (const concnas::Error& e) {
    return error_line(kExitFailure, e.what());
  } catch (const std::exception& e) {
    // Keep to one line: LibTorch's messages carry a backtrace.
    return error_line(kExitFailure, "unexpected: " + concnas::first_line(e.what()));
  }
  return 0;
}
