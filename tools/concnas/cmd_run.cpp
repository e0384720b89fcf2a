// concnas run: one worker of an exported deployment (--rank/--world/--master, the way
// torchrun workers start), or all of them as local processes (--local) with a latency
// report. design.md §6; docs/deploy.md.
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <optional>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <thread>

#include "commands.h"
#include "concnas/common/atomic_file.h"
#include "concnas/common/error.h"
#include "concnas/data/image_set.h"
#include "concnas/deploy/runtime.h"

extern char** environ;

namespace concnas::cli {
namespace {
namespace fs = std::filesystem;

struct RunArgs {
  std::string plan;
  int rank = -1;
  int world = 0;
  std::string master;
  bool local = false;
  bool store_served = false;  // hidden: the launcher serves the rendezvous
  std::string bind;
  double timeout_s = 30;
  int cores = 1;
  bool fp16 = false;
  std::string input;
  std::string labels;
  deploy::BenchmarkOptions bench;
  std::string json;
  std::string trace;
  std::optional<std::string> cpus;  // pin this worker to these CPUs
  bool pin = false;                  // --local: each worker on cores of its own
};

std::string part_of(const std::string& file, int rank) { return fmt::format("{}.rank{}", file, rank); }

data::ImageSet input_images(const RunArgs& a, const deploy::Deployment& d, bool* labelled) {
  *labelled = true;
  if (a.input.empty()) {
    const auto& in = d.arch.network.input;
    CONCNAS_CHECK(in.channels == 1 && in.height == 28 && in.width == 28,
                  "architecture '{}' takes {}x{}x{} images, not Fashion-MNIST's: give --input", d.arch.name,
                  in.channels, in.height, in.width);
    return data::load_mnist_format(data::kFashionMnistDir, data::Split::kTest, "fashion-mnist");
  }
  auto set = data::read_idx_images(a.input);
  if (!a.labels.empty()) {
    set.labels = data::read_idx_labels(a.labels);
    CONCNAS_CHECK(set.labels.size() * set.image_bytes() == set.pixels.size(),
                  "--labels {} has {} labels for {} images in {}", a.labels, set.labels.size(),
                  set.pixels.size() / std::max<std::size_t>(1, set.image_bytes()), a.input);
  } else {
    set.labels.assign(set.pixels.size() / std::max<std::size_t>(1, set.image_bytes()), 0);
    *labelled = false;
  }
  return set;
}

std::string cpu_list(const std::vector<int>& cpus) {
  std::string s;
  for (int c : cpus) s += (s.empty() ? "" : ",") + std::to_string(c);
  return s;
}

// "0", "0,2" or "1-3" -> the CPUs, each one this process may use.
std::vector<int> parse_cpus(const std::string& text) {
  std::vector<int> out;
  const auto bad = [&] { return InvalidArgument(fmt::format("--cpus '{}': not a list of CPUs like 0,2-3", text)); };
  constexpr std::size_t kDigits = 6;
  std::size_t at = 0;
  auto number = [&] {
    std::size_t end = at;
    while (end < text.size() && end - at < kDigits && std::isdigit(static_cast<unsigned char>(text[end]))) ++end;
    if (end == at) throw bad();
    const int v = std::stoi(text.substr(at, end - at));
    at = end;
    return v;
  };
  while (true) {
    const int first = number();
    int last = first;
    if (at < text.size() && text[at] == '-') {
      ++at;
      last = number();
      if (last < first) throw bad();
    }
    for (int c = first; c <= last; ++c) out.push_back(c);
    if (at == text.size()) break;
    if (text[at++] != ',') throw bad();
  }
  const auto allowed = deploy::cpus_of_this_process();
  for (int c : out)
    CONCNAS_CHECK(std::find(allowed.begin(), allowed.end(), c) != allowed.end(),
                  "--cpus '{}': CPU {} is not one this process may run on ({})", text, c, cpu_list(allowed));
  return out;
}

// Pins this process, and every thread it starts from now on, to `cpus`.
void pin_to(const std::vector<int>& cpus) {
  cpu_set_t set;
  CPU_ZERO(&set);
  for (int c : cpus) CPU_SET(c, &set);
  if (sched_setaffinity(0, sizeof(set), &set) != 0)
    throw Error(fmt::format("cannot pin this worker to CPUs {}: {}", cpu_list(cpus), std::strerror(errno)));
}

deploy::WorkerOptions worker_options(const RunArgs& a) {
  deploy::WorkerOptions o;
  o.rank = a.rank;
  o.world = a.world;
  if (a.world > 1) o.master = deploy::parse_endpoint(a.master, "--master");
  o.serve_store = !a.store_served;
  o.bind = a.bind;
  o.timeout = std::chrono::milliseconds(static_cast<long>(a.timeout_s * 1000));
  o.cores = a.cores;
  o.fp16 = a.fp16;
  o.trace = a.trace;
  return o;
}

void report(const RunArgs& a, const deploy::BenchmarkReport& r) {
  std::fputs(r.to_text().c_str(), stdout);
  std::fflush(stdout);
  if (!a.json.empty()) write_file_atomic(a.json, r.to_json());
}

// One worker in this process.
void run_worker(const RunArgs& a, const deploy::Deployment& d) {
  bool labelled = true;
  data::ImageSet set;
  if (a.rank == 0) set = input_images(a, d, &labelled);  // a bad input fails before joining
  deploy::Worker worker(d, worker_options(a));
  if (a.rank > 0) {
    const auto served = worker.serve();
    if (!a.bench.latencies_csv.empty()) {
      std::string rows = fmt::format("inference,w{}_compute_ms\n", a.rank);
      const auto& compute = worker.compute_ms();
      for (std::size_t i = 0; i < compute.size(); ++i) rows += fmt::format("{},{:.6f}\n", i, compute[i]);
      write_file_atomic(a.bench.latencies_csv, rows);
    }
    worker.write_trace();
    std::fprintf(stderr, "worker %d: served %lld inferences\n", a.rank, static_cast<long long>(served));
    return;
  }
  auto bench = a.bench;
  bench.labelled = labelled;
  const auto r = deploy::run_benchmark(worker, d, set, bench, a.fp16);
  report(a, r);  // before the trace: a trace that cannot be written loses no results
  worker.write_trace();
}

std::string self_exe() {
  std::error_code ec;
  const auto p = fs::read_symlink("/proc/self/exe", ec);
  if (ec) throw IoError("cannot find this program's path (/proc/self/exe): " + ec.message());
  return p.string();
}

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

// Every worker as a local process, with the launcher serving the rendezvous.
void run_local(const RunArgs& a, const deploy::Deployment& d) {
  const int n = d.plan.num_units;
  for (int u = 0; u < n; ++u) deploy::check_unit_file(d, u);  // say what is wrong before starting anyone
  if (!a.bench.baseline.empty()) (void)deploy::read_baseline(d, a.bench.baseline);
  bool labelled = true;
  (void)input_images(a, d, &labelled);
  std::vector<std::string> traces;
  for (int r = 0; r < n && !a.trace.empty(); ++r) traces.push_back(part_of(a.trace, r));
  std::vector<std::string> latencies;
  for (int r = 0; r < n && !a.bench.latencies_csv.empty(); ++r) latencies.push_back(part_of(a.bench.latencies_csv, r));
  // --pin: each worker on cores of its own, as on separate devices. Left to the scheduler,
  // a worker's receiving thread can be woken on the core where the other worker computes
  // and wait there for a time slice (milliseconds). Not the default: two pinned runs at
  // once would share the first cores and leave the others idle.
  const auto allowed = deploy::cpus_of_this_process();
  const std::size_t needed = static_cast<std::size_t>(n) * static_cast<std::size_t>(a.cores);
  CONCNAS_CHECK(!a.pin || needed <= allowed.size(),
                "--pin: {} workers x {} cores need {} CPUs; this process may use {}", n, a.cores, needed,
                allowed.size());
  std::vector<std::vector<int>> cores(n);
  for (int r = 0; r < n && a.pin; ++r)
    cores[r].assign(allowed.begin() + r * a.cores, allowed.begin() + (r + 1) * a.cores);
  if (a.pin) {
    std::string where;
    for (int r = 0; r < n; ++r) where += fmt::format("{}worker {} on CPU {}", r ? ", " : "", r, cpu_list(cores[r]));
    std::fprintf(stderr, "concnas: pinned %s\n", where.c_str());
  }
  if (n == 1) {
    if (a.pin) pin_to(cores[0]);
    RunArgs one = a;
    one.rank = 0;
    one.world = 1;
    if (!a.trace.empty()) one.trace = traces[0];
    run_worker(one, d);
    if (!a.trace.empty()) merge_parts(traces, a.trace);
    return;
  }
  const auto timeout = std::chrono::milliseconds(static_cast<long>(a.timeout_s * 1000));
  deploy::StoreServer store("127.0.0.1", 0, timeout);
  const std::string exe = self_exe();
  std::map<pid_t, int> rank_of;
  for (int r = 0; r < n; ++r) {
    std::vector<std::string> args{exe, "run", "--plan", a.plan, "--rank", std::to_string(r), "--world",
                                  std::to_string(n), "--master", fmt::format("127.0.0.1:{}", store.port()),
                                  "--store-served", "--cores", std::to_string(a.cores), "--timeout",
                                  fmt::format("{}", a.timeout_s)};
    if (a.fp16) args.push_back("--fp16");
    if (!a.trace.empty()) {
      args.push_back("--trace");
      args.push_back(traces[r]);
    }
    if (!a.bench.latencies_csv.empty()) {
      args.push_back("--latencies");
      args.push_back(latencies[r]);
    }
    if (a.pin) {
      args.push_back("--cpus");
      args.push_back(cpu_list(cores[r]));
    }
    if (r == 0) {
      for (const auto& [flag, value] : std::vector<std::pair<std::string, std::string>>{
               {"--runs", std::to_string(a.bench.runs)},
               {"--warmup", std::to_string(a.bench.warmup)},
               {"--batch", std::to_string(a.bench.batch)},
               {"--input", a.input},
               {"--labels", a.labels},
               {"--json", a.json},
               {"--logits", a.bench.logits_csv},
               {"--baseline", a.bench.baseline}})
        if (!value.empty()) {
          args.push_back(flag);
          args.push_back(value);
        }
      if (a.bench.all) args.push_back("--all");
      if (a.bench.check) args.push_back("--check");
    }
    std::vector<char*> argv;
    for (auto& s : args) argv.push_back(s.data());
    argv.push_back(nullptr);
    pid_t pid = 0;
    const int err = posix_spawn(&pid, exe.c_str(), nullptr, nullptr, argv.data(), environ);
    if (err != 0) {
      for (const auto& [p, _] : rank_of) kill(p, SIGKILL);
      throw Error(fmt::format("cannot start worker {} ({}): {}", r, exe, std::strerror(err)));
    }
    rank_of[pid] = r;
  }
  // Workers stop themselves when a peer fails (within the timeout); a worker still there
  // well after that is killed, so the launcher never hangs.
  int first_failure = 0, failed_rank = -1;
  std::optional<std::chrono::steady_clock::time_point> deadline;
  while (!rank_of.empty()) {
    int status = 0;
    const pid_t pid = waitpid(-1, &status, deadline ? WNOHANG : 0);
    if (pid > 0) {
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
  if (first_failure != 0) {
    // A failed run has no results to merge: the parts the other workers wrote go.
    std::error_code ignored;
    for (const auto* parts : {&traces, &latencies})
      for (const auto& p : *parts) fs::remove(p, ignored);
    throw Error(fmt::format("worker {} exited with status {} (its message is above)", failed_rank, first_failure));
  }
  if (!a.trace.empty()) merge_parts(traces, a.trace);
  if (!a.bench.latencies_csv.empty()) merge_latencies(latencies, a.bench.latencies_csv, a.bench.warmup);
}

}  // namespace

Action add_run_command(CLI::App& app) {
  auto a = std::make_shared<RunArgs>();
  auto* cmd = app.add_subcommand("run", "run an exported deployment: one worker, or all of them locally");
  cmd->add_option("--plan", a->plan, "deployment folder written by concnas export")->required();
  auto* local = cmd->add_flag("--local", a->local, "start every worker as a local process and report latency");
  auto* rank = cmd->add_option("--rank", a->rank, "this worker's unit (0 feeds the images and reports)");
  auto* world = cmd->add_option("--world", a->world, "number of workers (the plan's units)");
  auto* master = cmd->add_option("--master", a->master, "HOST:PORT of the rendezvous (worker 0 serves it)");
  local->excludes(rank)->excludes(world)->excludes(master);
  cmd->add_flag("--store-served", a->store_served)->group("");  // set by --local for its workers
  cmd->add_option("--bind", a->bind, "address to listen on (default: the one that routes to the master)");
  cmd->add_option("--timeout", a->timeout_s, "seconds to wait for a peer before giving up")
      ->check(CLI::Range(0.1, 3600.0));
  cmd->add_option("--cores,--threads", a->cores,
                  "cores per worker: the engine runs that many independent vertices at a time (a one-unit plan "
                  "with --cores 2 is one device with two cores)")
      ->check(CLI::Range(1, 256));
  auto* cpus = cmd->add_option("--cpus", a->cpus, "pin this worker (every thread of it) to these CPUs, e.g. 0 or 2-3");
  auto* pin = cmd->add_flag("--pin", a->pin,
                            "with --local: pin each worker to cores of its own (worker K to the K-th --cores of "
                            "the CPUs this process may use), as on separate devices");
  cpus->excludes(local);
  pin->needs(local);
  cmd->add_flag("--fp16", a->fp16, "send activations between units as float16");
  cmd->add_option("--runs", a->bench.runs, "timed inferences")->check(CLI::Range(1, 100000000));
  cmd->add_option("--warmup", a->bench.warmup, "untimed inferences first")->check(CLI::Range(0, 1000000));
  cmd->add_option("--batch", a->bench.batch, "images per inference")->check(CLI::Range(1, 100000));
  cmd->add_flag("--all", a->bench.all, "every input image once (overrides --runs)");
  cmd->add_option("--input", a->input, "IDX images file (default: Fashion-MNIST's test set)");
  cmd->add_option("--labels", a->labels, "IDX labels file for --input (for the accuracy)");
  cmd->add_flag("--check", a->bench.check, "compare every output with the single-process execution");
  cmd->add_option("--json", a->json, "write the report as JSON here");
  cmd->add_option("--logits", a->bench.logits_csv, "write every output (image, label, logits) as CSV here");
  cmd->add_option("--latencies", a->bench.latencies_csv,
                  "write every timed inference's latency (and the baseline's, with --baseline) and each worker's "
                  "compute time in it as CSV here (a worker > 0 alone: its compute time in every inference)");
  cmd->add_option("--baseline", a->bench.baseline,
                  "a one-unit export of the same network: worker 0 also runs it on the same images, in blocks of 10 "
                  "alternating with the deployment's, and reports both latencies and the speedup");
  cmd->add_option("--trace", a->trace,
                  "write when each vertex ran and each receive waited as a Chrome trace here (with --local: all "
                  "workers in one file)");
  return [a] {
    const auto d = deploy::read_deployment(a->plan);
    // Files written after the run: a missing folder is said now, not after the inferences.
    for (const auto& [flag, file] :
         {std::pair{"--trace", &a->trace}, std::pair{"--latencies", &a->bench.latencies_csv}}) {
      const auto folder = fs::path(*file).parent_path();
      CONCNAS_CHECK(file->empty() || folder.empty() || fs::is_directory(folder), "{} {}: the folder {} does not exist",
                    flag, *file, folder.string());
    }
    // Checked here, before any worker starts: more engine threads than CPUs only queue.
    const auto allowed = deploy::cpus_of_this_process();
    CONCNAS_CHECK(allowed.empty() || static_cast<std::size_t>(a->cores) <= allowed.size(),
                  "--cores {}: this machine lets this process use {} CPU{}", a->cores, allowed.size(),
                  allowed.size() == 1 ? "" : "s");
    if (a->local) {
      run_local(*a, d);
      return;
    }
    CONCNAS_CHECK(a->rank >= 0 && a->world >= 1, "give --rank and --world (and --master), or --local");
    if (a->cpus) pin_to(parse_cpus(*a->cpus));  // before any thread starts
    CONCNAS_CHECK(a->world == 1 || !a->master.empty(), "--master HOST:PORT is needed with --world {}", a->world);
    CONCNAS_CHECK(a->bench.baseline.empty() || a->rank == 0, "--baseline is for worker 0, which feeds the images");
    // Before the rendezvous, so a bad baseline fails worker 0 alone; a --local launcher has
    // checked it before starting its workers.
    if (a->rank == 0 && !a->bench.baseline.empty() && !a->store_served)
      (void)deploy::read_baseline(d, a->bench.baseline);
    run_worker(*a, d);
  };
}

}  // namespace concnas::cli
