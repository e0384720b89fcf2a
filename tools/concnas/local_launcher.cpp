// concnas run --local: every worker of a deployment as a local process, pinned to cores
// of its own with --pin, with the launcher serving the rendezvous and merging the
// workers' traces and latency files.
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <thread>

#include "concnas/common/atomic_file.h"
#include "concnas/common/error.h"
#include "run_args.h"

extern char** environ;

namespace concnas::cli {
namespace fs = std::filesystem;
namespace {


// The workers' traces as one file; the parts go once it is written.
void merge_parts(const std::vector<std::string>& parts, const std::string& path) {
  deploy::merge_traces(parts, path);
  for (const auto& p : parts) fs::remove(p);
}

// Worker 0's latency CSV with a column per other worker: the milliseconds it computed in
// each timed inference (its file counts the `warmup` untimed ones too); the parts go once
// it is written.
void merge_latencies(const std::vector<std::string>& parts, const std::string& path, int warmup) {
  auto lines_of = [](const std::string& file) {
    std::ifstream in(file);
    if (!in) throw IoError("cannot read the worker's latencies " + file);
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    if (lines.empty()) throw IoError(file + " is empty");
    return lines;
  };
  auto rows = lines_of(parts[0]);
  for (std::size_t r = 1; r < parts.size(); ++r) {
    const auto theirs = lines_of(parts[r]);
    const std::size_t timed = rows.size() - 1;
    if (theirs.size() != 1 + static_cast<std::size_t>(warmup) + timed)
      throw IoError(fmt::format("{} has {} inferences; worker 0 ran {} and {} untimed", parts[r], theirs.size() - 1,
                                timed, warmup));
    rows[0] += "," + theirs[0].substr(theirs[0].find(',') + 1);
    for (std::size_t i = 1; i <= timed; ++i) {
      const auto& line = theirs[static_cast<std::size_t>(warmup) + i];
      rows[i] += "," + line.substr(line.find(',') + 1);
    }
  }
  std::string text;
  for (const auto& line : rows) text += line + "\n";
  write_file_atomic(path, text);
  for (const auto& p : parts) fs::remove(p);
}

// The command line of worker `r` (worker 0 also gets the benchmark's flags).
std::vector<std::string> worker_args(const RunArgs& a, int r, int n, int port, const std::vector<int>& cpus,
                                     const std::string& trace, const std::string& latencies) {
  std::vector<std::string> args{self_exe(), "run", "--plan", a.plan, "--rank", std::to_string(r), "--world",
                                std::to_string(n), "--master", fmt::format("127.0.0.1:{}", port),
                                "--store-served", "--cores", std::to_string(a.cores), "--timeout",
                                fmt::format("{}", a.timeout_s)};
  std::vector<std::pair<std::string, std::string>> valued{
      {"--trace", trace}, {"--latencies", latencies}, {"--cpus", a.pin ? cpu_list(cpus) : ""}};
  if (r == 0)
    valued.insert(valued.end(), {{"--runs", std::to_string(a.bench.runs)},
                                 {"--warmup", std::to_string(a.bench.warmup)},
                                 {"--batch", std::to_string(a.bench.batch)},
                                 {"--input", a.input},
                                 {"--labels", a.labels},
                                 {"--json", a.json},
                                 {"--logits", a.bench.logits_csv},
                                 {"--baseline", a.bench.baseline},
                                 {"--devices", a.devices}});
  for (const auto& [flag, value] : valued)
    if (!value.empty()) {
      args.push_back(flag);
      args.push_back(value);
    }
  if (a.fp16) args.push_back("--fp16");
  if (const double quota = cpu_quota_of(a, r, n); quota > 0) {
    args.push_back("--cpu-quota");
    args.push_back(fmt::format("{}", quota));
  }
  if (const double slowdown = slowdown_of(a, r, n); slowdown > 1) {
    args.push_back("--slowdown");
    args.push_back(fmt::format("{}", slowdown));
  }
  if (r == 0 && a.bench.all) args.push_back("--all");
  if (r == 0 && a.bench.check) args.push_back("--check");
  return args;
}

// Starts a worker; on failure kills those already started.
pid_t spawn(std::vector<std::string> args, int r, const std::map<pid_t, int>& started) {
  std::vector<char*> argv;
  for (auto& s : args) argv.push_back(s.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  const int err = posix_spawn(&pid, args[0].c_str(), nullptr, nullptr, argv.data(), environ);
  if (err != 0) {
    for (const auto& [p, _] : started) kill(p, SIGKILL);
    throw Error(fmt::format("cannot start worker {} ({}): {}", r, args[0], std::strerror(err)));
  }
  return pid;
}

// Waits for every worker. Workers stop themselves when a peer fails (within the timeout);
// a worker still there well after that is killed, so the launcher never hangs. Returns
// the first failure as {exit status, rank}, or {0, -1}.
std::pair<int, int> wait_for_workers(std::map<pid_t, int> rank_of, std::chrono::milliseconds timeout) {
  int first_failure = 0, failed_rank = -1;
  std::optional<std::chrono::steady_clock::time_point> deadline;
  while (!rank_of.empty()) {
    int status = 0;
    const pid_t pid = waitpid(-1, &status, deadline ? WNOHANG : 0);
    if (pid > 0) {
      CpuQuota::remove_left_by(pid);  // a worker killed under --cpu-quota left its group
      const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      if (code != 0 && first_failure == 0) {
        first_failure = code;
        failed_rank = rank_of[pid];
        deadline = std::chrono::steady_clock::now() + timeout + std::chrono::seconds(10);
      }
      rank_of.erase(pid);
      continue;
    }
    if (pid < 0) break;
    if (std::chrono::steady_clock::now() > *deadline) {
      for (const auto& [p, r] : rank_of) {
        std::fprintf(stderr, "concnas: worker %d did not stop after worker %d failed; killing it\n", r, failed_rank);
        kill(p, SIGKILL);
      }
      deadline = std::chrono::steady_clock::now() + std::chrono::hours(1);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return {first_failure, failed_rank};
}

// --pin: each worker on cores of its own, as on separate devices. Left to the scheduler,
// a worker's receiving thread can be woken on the core where the other worker computes
// and wait there for a time slice (milliseconds). Not the default: two pinned runs at
// once would share the first cores and leave the others idle.
std::vector<std::vector<int>> cores_of_workers(const RunArgs& a, int n) {
  const auto allowed = deploy::cpus_of_this_process();
  const std::size_t needed = static_cast<std::size_t>(n) * static_cast<std::size_t>(a.cores);
  CONCNAS_CHECK(!a.pin || needed <= allowed.size(),
                "--pin: {} workers x {} cores need {} CPUs; this process may use {}", n, a.cores, needed,
                allowed.size());
  std::vector<std::vector<int>> cores(n);
  if (!a.pin) return cores;
  std::string where;
  for (int r = 0; r < n; ++r) {
    cores[r].assign(allowed.begin() + r * a.cores, allowed.begin() + (r + 1) * a.cores);
    where += fmt::format("{}worker {} on CPU {}", r ? ", " : "", r, cpu_list(cores[r]));
  }
  std::fprintf(stderr, "concnas: pinned %s\n", where.c_str());
  return cores;
}

}  // namespace

std::string self_exe() {
  std::error_code ec;
  const auto p = fs::read_symlink("/proc/self/exe", ec);
  if (ec) throw IoError("cannot find this program's path (/proc/self/exe): " + ec.message());
  return p.string();
}

void run_local(const RunArgs& a, const deploy::Deployment& d) {
  const int n = d.plan.num_units;
  for (int u = 0; u < n; ++u) deploy::check_unit_file(d, u);  // say what is wrong before starting anyone
  if (!a.bench.baseline.empty()) (void)deploy::read_baseline(d, a.bench.baseline);
  bool labelled = true;
  (void)input_images(a, d, &labelled);
  std::vector<std::string> traces(n), latencies(n);
  for (int r = 0; r < n; ++r) {
    if (!a.trace.empty()) traces[r] = part_of(a.trace, r);
    if (!a.bench.latencies_csv.empty()) latencies[r] = part_of(a.bench.latencies_csv, r);
  }
  const auto cores = cores_of_workers(a, n);
  if (n == 1) {
    if (a.pin) pin_to(cores[0]);
    RunArgs one = a;
    one.rank = 0;
    one.world = 1;
    one.trace = traces[0];
    const auto quota = apply_cpu_quota(one, 1);
    run_worker(one, d);
    if (!a.trace.empty()) merge_parts(traces, a.trace);
    return;
  }
  const auto timeout = std::chrono::milliseconds(static_cast<long>(a.timeout_s * 1000));
  deploy::StoreServer store("127.0.0.1", 0, timeout);
  std::map<pid_t, int> rank_of;
  for (int r = 0; r < n; ++r)
    rank_of[spawn(worker_args(a, r, n, store.port(), cores[r], traces[r], latencies[r]), r, rank_of)] = r;
  const auto [failure, failed_rank] = wait_for_workers(rank_of, timeout);
  if (failure != 0) {
    // A failed run has no results to merge: the parts the other workers wrote go.
    std::error_code ignored;
    for (const auto* parts : {&traces, &latencies})
      for (const auto& p : *parts)
        if (!p.empty()) fs::remove(p, ignored);
    throw Error(fmt::format("worker {} exited with status {} (its message is above)", failed_rank, failure));
  }
  if (!a.trace.empty()) merge_parts(traces, a.trace);
  if (!a.bench.latencies_csv.empty()) merge_latencies(latencies, a.bench.latencies_csv, a.bench.warmup);
}

}  // namespace concnas::cli
