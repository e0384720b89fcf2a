// concnas search: the end-to-end search (sample, score, select, train, report), resumable.

#include <atomic>
#include <csignal>
#include <filesystem>
#include <cstdio>
#include <map>
#include <memory>

#include <fmt/format.h>

#include "calibration.h"
#include "commands.h"
#include "deploy_pick.h"
#include "mpi_search.h"
#include "progress_bar.h"
#include "concnas/common/error.h"
#include "concnas/config/devices_yaml.h"
#include "concnas/search/runner.h"

namespace concnas::cli {
namespace {
namespace fs = std::filesystem;

struct SearchArgs {
  std::string config;
  std::string out;
  bool resume = false;
  std::vector<std::string> sets;
};

// search.calibrate: this machine measured once per run folder (kept on --resume, so that a
// resumed search scores as the first part did).
void use_calibrated_devices(search::SearchConfig& cfg, const std::string& out, bool resume) {
  const std::string path = out + "/devices.yaml";
  if (!resume || !fs::exists(path)) {
    CONCNAS_CHECK(resume || !fs::exists(out + "/candidates.jsonl"),
                  "{} already holds a search; use --resume or another --out", out);
    fs::create_directories(out);
    CalibrationRequest request;
    request.out = path;
    request.world = cfg.search.units;
    request.command = fmt::format("concnas search (search.calibrate: true) -> {}", path);
    write_calibrated_devices(request);
  }
  std::tie(cfg.device_model, cfg.link_model) = config::load_devices(path, cfg.search.units);
  std::printf("search: predicting for this machine as calibrated in %s\n", path.c_str());
}

// The runner refuses bad data before it makes its folder; search.calibrate makes it
// earlier (for devices.yaml), so a search refused before scoring takes that folder away.
search::SearchSummary run_keeping_no_empty_folder(search::SearchRunner& runner, bool resume, const std::string& out,
                                                  bool fresh_folder) {
  try {
    return runner.run(resume);
  } catch (const Error&) {
    std::error_code ignored;
    if (fresh_folder && !fs::exists(out + "/candidates.jsonl")) fs::remove_all(out, ignored);
    throw;
  }
}

std::atomic<bool> g_stop{false};
extern "C" void on_interrupt(int) { g_stop.store(true); }

// Ctrl-C and SIGTERM (also what mpirun sends each rank when a job ends) stop the search
// at the next training step, with everything finished saved.
void stop_on_signals() {
  g_stop.store(false);
  struct sigaction action {};
  action.sa_handler = on_interrupt;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

// A live line on a terminal; a plain line per finished item otherwise (CI logs).
search::SearchProgressFn progress_printer() {
  const bool tty = stderr_is_terminal();
  auto last_done = std::make_shared<std::map<std::string, std::int64_t>>();
  return [tty, last_done](const std::string& stage, std::int64_t done, std::int64_t total, const std::string& detail) {
    if (tty) {
      draw_progress_bar("[" + stage + "]", done, total, 24, fmt::format("{}/{} {}", done, total, detail.substr(0, 60)));
    } else {
      auto& last = (*last_done)[stage];
      const bool first = !last_done->count(stage + "#");
      (*last_done)[stage + "#"] = 1;
      // Scoring can hold thousands of items: print every tenth of the way.
      const std::int64_t step = stage == "score" ? std::max<std::int64_t>(1, total / 10) : 1;
      if (first || done == total || done >= last + step) {
        std::fprintf(stderr, "[%s] %lld/%lld %s\n", stage.c_str(), static_cast<long long>(done),
                     static_cast<long long>(total), detail.c_str());
        last = done;
      }
    }
    std::fflush(stderr);
  };
}

// The search in this process; `executor` (when set) says who trains.
void search_here(const SearchArgs& a, const std::string& out, const ExecutorFactory& executor) {
  // Every config error surfaces here, before any work.
  auto cfg = search::load_search_config(a.config, a.sets);
  const bool fresh_folder = !fs::exists(out);
  if (cfg.search.calibrate) use_calibrated_devices(cfg, out, a.resume);
  std::printf("search: %d candidates + %zu baselines for n = %d units, %zu rungs -> %s\n",
              cfg.search.candidates, cfg.space.baselines.size(), cfg.search.units,
              cfg.search.rungs.size(), out.c_str());
  std::fflush(stdout);
  const auto deployer = make_pick_deployer(cfg);
  auto trials = executor ? executor(cfg, out) : nullptr;
  search::SearchRunner runner(std::move(cfg), out);
  runner.set_deployer(deployer);
  if (trials) runner.set_executor(std::move(trials));
  runner.set_progress(progress_printer());
  runner.set_stop_flag(&g_stop);
  const auto summary = run_keeping_no_empty_folder(runner, a.resume, out, fresh_folder);
  std::printf("%zu candidates scored, %zu trainings; Pareto front: %zu -> %s/report.html\n",
              summary.candidates.size(), summary.trials.size(), summary.front.size(), out.c_str());
  for (const auto& [stage, s] : summary.stage_seconds) std::printf("  %-7s %8.1f s\n", stage.c_str(), s);
}

void run_search(const SearchArgs& a) {
  const std::string out = a.out.empty() ? "runs/search" : a.out;
  stop_on_signals();
  const auto launched = mpi_launch_size();
  if (!launched || *launched == 1) return search_here(a, out, nullptr);
#ifdef CONCNAS_WITH_MPI
  search_on_mpi(out, g_stop, [&](const ExecutorFactory& executor) { search_here(a, out, executor); });
#else
  throw Error(fmt::format("started by an MPI launcher ({} processes), but this concnas was built without MPI, so "
                          "every process would run the whole search; install libopenmpi-dev and rebuild "
                          "(docs/search.md)",
                          *launched > 0 ? std::to_string(*launched) : "several"));
#endif
}

}  // namespace

Action add_search_command(CLI::App& app) {
  auto args = std::make_shared<SearchArgs>();
  auto* cmd = app.add_subcommand("search", "search for concurrent architectures (score, train, report)");
  cmd->add_option("--config,-c", args->config, "search config (YAML)")->required();
  cmd->add_option("--out,-o", args->out, "run folder (default: runs/search)");
  cmd->add_flag("--resume", args->resume, "continue the search in --out (same config and --set)");
  cmd->add_option("--set", args->sets, "override a config key: section.key=value (repeatable)");
  return [args] { run_search(*args); };
}

}  // namespace concnas::cli
