// concnas run: one worker of an exported deployment (--rank/--world/--master, the way
// torchrun workers start), or all of them as local processes (--local) with a latency
// report (docs/deploy.md). The local launcher is local_launcher.cpp.
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <optional>
#include <cstdio>
#include <filesystem>
#include <numeric>
#include <fstream>
#include <map>
#include <memory>
#include <thread>

#include "commands.h"
#include "concnas/common/atomic_file.h"
#include "concnas/common/error.h"
#include "concnas/config/devices_yaml.h"
#include "concnas/data/dataset.h"
#include "concnas/deploy/runtime.h"
#include "run_args.h"

namespace concnas::cli {
namespace fs = std::filesystem;
namespace {

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
  o.slowdown = slowdown_of(a, a.rank, a.world);
  return o;
}

// What the devices file predicts for deployment `d` run as these flags run it (--cores per
// unit, --fp16 halving the bytes). The file describes `file_units` devices (the main
// deployment's); `d` runs on the first of them (a one-unit --baseline on device 0). Its
// prices are for its own batch, so --batch must be that one.
double predicted_ms(const RunArgs& a, const deploy::Deployment& d, int file_units) {
  auto [all, link] = config::load_devices(a.devices, file_units);
  CONCNAS_CHECK(all.batch == a.bench.batch,
                "--devices {} predicts inferences of {} image{} (its 'batch'), not --batch {}: calibrate at "
                "that batch (concnas calibrate --batch {})", a.devices, all.batch, all.batch == 1 ? "" : "s",
                a.bench.batch, a.bench.batch);
  std::vector<int> first(d.plan.num_units);
  std::iota(first.begin(), first.end(), 0);
  auto devices = all.only(first);
  devices.cores.assign(d.plan.num_units, a.cores);
  if (a.fp16) link.bytes_per_element = 2;
  return sim::simulate(d.arch, arch::compute_cost(d.arch), d.plan.parts, devices, link).latency_s * 1e3;
}

void report(const RunArgs& a, const deploy::BenchmarkReport& r) {
  std::fputs(r.to_text().c_str(), stdout);
  std::fflush(stdout);
  if (!a.json.empty()) write_file_atomic(a.json, r.to_json());
}

}  // namespace

data::ImageSet input_images(const RunArgs& a, const deploy::Deployment& d, bool* labelled) {
  *labelled = true;
  if (a.input.empty()) {
    const auto& in = d.arch.network.input;
    CONCNAS_CHECK(in.channels == 1 && in.height == 28 && in.width == 28,
                  "architecture '{}' takes {}x{}x{} images, not Fashion-MNIST's: give --input", d.arch.name,
                  in.channels, in.height, in.width);
    return data::builtin_datasets().get("fashion-mnist").load({}, data::Split::kTest);
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

void pin_to(const std::vector<int>& cpus) {
  cpu_set_t set;
  CPU_ZERO(&set);
  for (int c : cpus) CPU_SET(c, &set);
  if (sched_setaffinity(0, sizeof(set), &set) != 0)
    throw Error(fmt::format("cannot pin this worker to CPUs {}: {}", cpu_list(cpus), std::strerror(errno)));
}

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
  auto r = deploy::run_benchmark(worker, d, set, bench, a.fp16);
  if (!a.devices.empty()) {
    r.predicted_ms = predicted_ms(a, d, d.plan.num_units);
    if (r.baseline)
      r.baseline->predicted_ms = predicted_ms(a, deploy::read_deployment(a.bench.baseline), d.plan.num_units);
  }
  report(a, r);  // before the trace: a trace that cannot be written loses no results
  worker.write_trace();
}

namespace {

// Every --cpu-quota entry well formed, and quotas possible here, before any worker starts.
void check_cpu_quotas(const RunArgs& a, int units) {
  if (a.cpu_quota.empty()) return;
  for (int u = 0; u < units; ++u) (void)cpu_quota_of(a, u, units);
  const auto why = CpuQuota::unavailable_reason();
  CONCNAS_CHECK(why.empty(), "--cpu-quota: no CPU quota can be set here: {}", why);
}

// The command, once its flags are parsed: what can be checked is checked before any worker
// starts.
void run_command(const RunArgs& a) {
  const auto d = deploy::read_deployment(a.plan);
  // Files written after the run: a missing folder is said now, not after the inferences.
  for (const auto& [flag, file] :
       {std::pair{"--trace", &a.trace}, std::pair{"--latencies", &a.bench.latencies_csv}}) {
    const auto folder = fs::path(*file).parent_path();
    CONCNAS_CHECK(file->empty() || folder.empty() || fs::is_directory(folder), "{} {}: the folder {} does not exist",
                  flag, *file, folder.string());
  }
  if (!a.devices.empty()) (void)predicted_ms(a, d, d.plan.num_units);  // a bad devices file fails before the inferences
  // Checked here, before any worker starts: more engine threads than CPUs only queue.
  const auto allowed = deploy::cpus_of_this_process();
  CONCNAS_CHECK(allowed.empty() || static_cast<std::size_t>(a.cores) <= allowed.size(),
                "--cores {}: this machine lets this process use {} CPU{}", a.cores, allowed.size(),
                allowed.size() == 1 ? "" : "s");
  check_cpu_quotas(a, d.plan.num_units);
  for (int u = 0; u < d.plan.num_units; ++u) (void)slowdown_of(a, u, d.plan.num_units);
  if (a.local) {
    run_local(a, d);
    return;
  }
  CONCNAS_CHECK(a.rank >= 0 && a.world >= 1, "give --rank and --world (and --master), or --local");
  const auto quota = apply_cpu_quota(a, d.plan.num_units);  // before any thread starts
  if (a.cpus) pin_to(parse_cpus(*a.cpus));
  CONCNAS_CHECK(a.world == 1 || !a.master.empty(), "--master HOST:PORT is needed with --world {}", a.world);
  CONCNAS_CHECK(a.bench.baseline.empty() || a.rank == 0, "--baseline is for worker 0, which feeds the images");
  // Before the rendezvous, so a bad baseline fails worker 0 alone; a --local launcher has
  // checked it before starting its workers.
  if (a.rank == 0 && !a.bench.baseline.empty() && !a.store_served)
    (void)deploy::read_baseline(d, a.bench.baseline);
  run_worker(a, d);
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
  cmd->add_option("--cpu-quota", a->cpu_quota,
                  "hold a worker to a fraction of its cores' time, as a slower device (a control group; root): "
                  "FRACTION for this worker, or UNIT=FRACTION for each slowed worker with --local, e.g. 1=0.5")
      ->delimiter(',');
  cmd->add_option("--slowdown", a->slowdown,
                  "make a worker compute as a device this many times slower: each step busy-waits (FACTOR - 1) "
                  "times its own time; FACTOR for this worker, or UNIT=FACTOR for each slowed worker with --local, "
                  "e.g. 1=2")
      ->delimiter(',');
  cmd->add_flag("--fp16", a->fp16, "send activations between units as float16");
  cmd->add_option("--devices", a->devices,
                  "devices file (concnas calibrate): report its predicted latency beside the measured one");
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
  return [a] { run_command(*a); };
}

}  // namespace concnas::cli
