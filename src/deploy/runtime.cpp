#include "concnas/deploy/runtime.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

// c10d declares its Gloo process group only under this macro (Debian builds it in).
#define USE_C10D_GLOO 1
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <limits>
#include <map>
#include <mutex>
#include <string_view>
#include <type_traits>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "concnas/common/atomic_file.h"
#include "concnas/config/architecture_yaml.h"
#include "concnas/deploy/engine.h"
#include "concnas/deploy/export.h"

namespace concnas::deploy {
namespace {

constexpr int kHeaderTag = 0;
// The trace category of the stem, vertex, partial-sum and head calls.
constexpr const char* kCompute = "compute";
int tag_of(int vertex) { return vertex + 1; }

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

double seconds(std::chrono::milliseconds ms) { return static_cast<double>(ms.count()) / 1000.0; }

// The local IPv4 address the kernel would use to reach `host` (no packet is sent).
std::string address_towards(const std::string& host) {
  addrinfo hints{};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* found = nullptr;
  if (getaddrinfo(host.c_str(), "9", &hints, &found) != 0 || found == nullptr)
    throw InvalidArgument(fmt::format("cannot resolve the master host '{}'", host));
  const int fd = socket(AF_INET, SOCK_DGRAM, 0);
  std::string out;
  if (fd >= 0 && connect(fd, found->ai_addr, found->ai_addrlen) == 0) {
    sockaddr_in local{};
    socklen_t len = sizeof(local);
    char text[INET_ADDRSTRLEN] = {};
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len) == 0 &&
        inet_ntop(AF_INET, &local.sin_addr, text, sizeof(text)) != nullptr)
      out = text;
  }
  if (fd >= 0) close(fd);
  freeaddrinfo(found);
  if (out.empty()) throw InvalidArgument(fmt::format("no route to the master host '{}'", host));
  return out;
}

c10d::TCPStoreOptions store_options(int port, bool server, std::chrono::milliseconds timeout) {
  c10d::TCPStoreOptions o;
  o.port = static_cast<std::uint16_t>(port);
  o.isServer = server;
  o.waitWorkers = false;
  o.timeout = timeout;
  return o;
}

std::vector<std::uint8_t> bytes_of(const std::string& s) { return {s.begin(), s.end()}; }

// The q-quantile of `v` (nearest rank).
double percentile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  const auto at = static_cast<std::size_t>(std::ceil(q * static_cast<double>(v.size()))) - 1;
  return v[std::min(at, v.size() - 1)];
}

}  // namespace

std::vector<int> cpus_of_this_process() {
  cpu_set_t set;
  CPU_ZERO(&set);
  std::vector<int> out;
  if (sched_getaffinity(0, sizeof(set), &set) == 0)
    for (int c = 0; c < CPU_SETSIZE; ++c)
      if (CPU_ISSET(c, &set)) out.push_back(c);
  return out;
}

Endpoint parse_endpoint(const std::string& text, const std::string& flag) {
  const auto colon = text.rfind(':');
  Endpoint e;
  if (colon != std::string::npos && colon > 0) {
    e.host = text.substr(0, colon);
    const std::string port = text.substr(colon + 1);
    const bool digits = !port.empty() && port.size() <= 5 &&
                        std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (digits) {
      e.port = std::stoi(port);
      if (e.port >= 1 && e.port <= 65535) return e;
    }
  }
  throw InvalidArgument(fmt::format("{}: '{}' is not HOST:PORT with a port in 1..65535", flag, text));
}

struct StoreServer::Impl {
  c10::intrusive_ptr<c10d::TCPStore> store;
};

StoreServer::StoreServer(const std::string& host, int port, std::chrono::milliseconds timeout)
    : impl_(std::make_unique<Impl>()) {
  try {
    impl_->store = c10::make_intrusive<c10d::TCPStore>(host, store_options(port, true, timeout));
  } catch (const std::exception& e) {
    throw RuntimeFault(fmt::format("cannot serve the rendezvous on {}:{}: {}", host, port, first_line(e.what())));
  }
}
StoreServer::~StoreServer() = default;
int StoreServer::port() const { return impl_->store->getPort(); }

struct Worker::Impl {
  Deployment d;
  WorkerOptions o;
  std::unique_ptr<Engine> engine;
  std::mutex mutex;                           // the engine's threads record and send through it
  std::map<int, const Transfer*> sent;        // transfers this unit sends, by vertex
  std::map<int, const Transfer*> received;    // transfers this unit receives, by vertex
  std::vector<const Transfer*> partials_in;   // unit 0: the other units' partial sums, by unit
  const Transfer* partial_out = nullptr;      // units > 0 holding sinks: their partial sum
  c10::intrusive_ptr<c10d::TCPStore> store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> pg;

  // Trace (WorkerOptions::trace): what ran or waited when, per inference.
  struct Event {
    std::string name;
    const char* cat;
    std::int64_t begin_ns, end_ns, inference;
    int thread;  // the engine thread (0: the worker's own)
  };
  std::vector<Event> events;
  std::int64_t inference_no = 0;
  std::vector<double> compute_ms;  // per inference (index inference_no), traced or not
  // `name` is a string or something that makes one (formatted only when tracing).
  template <typename Name>
  void record(const Name& name, const char* cat, std::int64_t begin_ns, int thread = 0) {
    const std::int64_t end_ns = now_ns();
    if (std::string_view(cat) == kCompute) compute_ms.back() += static_cast<double>(end_ns - begin_ns) / 1e6;
    if (o.trace.empty()) return;
    if constexpr (std::is_invocable_v<Name>)
      events.push_back({name(), cat, begin_ns, end_ns, inference_no, thread});
    else
      events.push_back({std::string(name), cat, begin_ns, end_ns, inference_no, thread});
  }

  [[noreturn]] void fault(const std::string& what) const {
    throw RuntimeFault(fmt::format("worker {}: {}", o.rank, what));
  }

  void wait(c10d::Work& work, const std::string& what, int peer) const {
    try {
      if (!work.wait(o.timeout)) fault(fmt::format("{} (worker {}) did not complete within {} s", what, peer,
                                                   seconds(o.timeout)));
    } catch (const RuntimeFault&) {
      throw;
    } catch (const std::exception& e) {
      fault(fmt::format("{} (worker {}) failed: {} (did worker {} stop?)", what, peer, first_line(e.what()), peer));
    }
  }

  // Posting a send or receive fails at once when the peer's connection is gone.
  c10::intrusive_ptr<c10d::Work> post(bool send, std::vector<torch::Tensor>& t, int peer, int tag,
                                      const std::string& what) {
    try {
      return send ? pg->send(t, peer, tag) : pg->recv(t, peer, tag);
    } catch (const std::exception& e) {
      fault(fmt::format("{} (worker {}) failed: {} (did worker {} stop?)", what, peer, first_line(e.what()), peer));
    }
  }

  void join() {
    const std::string where = fmt::format("{}:{}", o.master.host, o.master.port);
    try {
      store = c10::make_intrusive<c10d::TCPStore>(o.master.host,
                                                   store_options(o.master.port, o.rank == 0 && o.serve_store, o.timeout));
    } catch (const std::exception& e) {
      fault(fmt::format("cannot reach the rendezvous at {} within {} s: {}", where, seconds(o.timeout),
                        first_line(e.what())));
    }
    // Handshake: every worker publishes what it runs and checks every other worker's.
    const std::string mine = fmt::format("{:016x} units {}", d.identity, o.world);
    try {
      if (store->add(fmt::format("concnas/rank{}", o.rank), 1) != 1)
        fault(fmt::format("another worker has already joined {} as rank {}", where, o.rank));
      store->set(fmt::format("concnas/identity{}", o.rank), bytes_of(mine));
    } catch (const RuntimeFault&) {
      throw;
    } catch (const std::exception& e) {
      fault(fmt::format("rendezvous at {} failed: {}", where, first_line(e.what())));
    }
    for (int r = 0; r < o.world; ++r) {
      if (r == o.rank) continue;
      const std::string key = fmt::format("concnas/identity{}", r);
      std::vector<std::uint8_t> theirs;
      try {
        store->wait({key}, o.timeout);
        theirs = store->get(key);
      } catch (const std::exception&) {
        fault(fmt::format("worker {} did not join the rendezvous at {} within {} s", r, where, seconds(o.timeout)));
      }
      if (std::string(theirs.begin(), theirs.end()) != mine)
        fault(fmt::format("worker {} runs another deployment (plan {} there, {} here): refused at the handshake", r,
                          std::string(theirs.begin(), theirs.end()), mine));
    }
    auto options = c10d::ProcessGroupGloo::Options::create(o.timeout);
    const std::string bind = o.bind.empty() ? address_towards(o.master.host) : o.bind;
    try {
      options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname(bind));
      pg = c10::make_intrusive<c10d::ProcessGroupGloo>(c10::make_intrusive<c10d::PrefixStore>("gloo", store),
                                                       o.rank, o.world, options);
    } catch (const std::exception& e) {
      fault(fmt::format("cannot connect to the other workers from {}: {}", bind, first_line(e.what())));
    }
  }

  // One inference on this unit; rank 0 passes the images and gets the logits.
  void run(std::int64_t batch, const torch::Tensor* images, torch::Tensor* logits) {
    c10::InferenceMode inference;
    compute_ms.push_back(0.0);  // this inference's (inference_no's) entry, even if it computes nothing
    const auto& dag = d.arch.dag;
    const auto wire = o.fp16 ? torch::kHalf : torch::kFloat;
    using Incoming = std::pair<torch::Tensor, c10::intrusive_ptr<c10d::Work>>;
    std::map<int, Incoming> incoming;
    // A buffer for `t` and its receive, posted now.
    auto receive = [&](const Transfer& t, const std::string& what) -> Incoming {
      std::vector<torch::Tensor> buf{torch::empty({batch, t.shape.channels, t.shape.height, t.shape.width}, wire)};
      return {buf[0], post(false, buf, t.from, tag_of(t.vertex), what)};
    };
    // A received buffer as the float tensor the engine takes.
    auto widened = [&](const torch::Tensor& buf) { return o.fp16 ? buf.to(torch::kFloat) : buf; };
    for (const auto& [v, t] : received) incoming[v] = receive(*t, fmt::format("receiving v{}", v));
    std::vector<Incoming> partials;
    for (const Transfer* t : partials_in) partials.push_back(receive(*t, "receiving a partial sum"));
    std::vector<std::pair<c10::intrusive_ptr<c10d::Work>, int>> sends;
    std::vector<std::vector<torch::Tensor>> sent_buffers;  // alive until the sends complete
    EngineHooks hooks;
    hooks.receive = [&](int v) {
      const auto t0 = now_ns();
      auto& [buf, work] = incoming.at(v);
      wait(*work, fmt::format("receiving v{}", v), received.at(v)->from);
      auto x = widened(buf);
      std::lock_guard<std::mutex> lock(mutex);
      record([&] { return fmt::format("wait v{}", v); }, "wait", t0);
      return x;
    };
    hooks.computed = [&](int v, const torch::Tensor& x) {
      const auto it = sent.find(v);
      if (it == sent.end()) return;
      const auto t0 = now_ns();
      std::lock_guard<std::mutex> lock(mutex);
      sent_buffers.push_back({x.to(wire).contiguous()});
      for (int to : it->second->to)
        sends.emplace_back(post(true, sent_buffers.back(), to, tag_of(v), fmt::format("sending v{}", v)), to);
      record([&] { return fmt::format("send v{}", v); }, "send", t0);
    };
    hooks.ran = [&](int v, int thread, std::int64_t t0) {
      std::lock_guard<std::mutex> lock(mutex);
      const std::string name = v == dag.input() ? "stem" : v == dag.output() ? "partial" : fmt::format("v{}", v);
      record(name, kCompute, t0, thread);
    };
    c10::List<torch::Tensor> sums;
    const auto partial = engine->run(batch, images, hooks);
    if (partial.defined()) {
      sums.push_back(partial);
      if (partial_out) {
        const auto t1 = now_ns();
        std::vector<torch::Tensor> t{partial.to(wire).contiguous()};
        sends.emplace_back(post(true, t, 0, tag_of(partial_out->vertex), "sending the partial sum"), 0);
        record("send partial", "send", t1);
      }
    }
    if (o.rank == 0) {
      std::vector<torch::Tensor> all(sums.begin(), sums.end());
      for (std::size_t i = 0; i < partials.size(); ++i) {
        const int from = partials_in[i]->from;
        const auto t0 = now_ns();
        wait(*partials[i].second, "receiving the partial sum", from);
        all.push_back(widened(partials[i].first));
        record([&] { return fmt::format("wait partial{}", from); }, "wait", t0);
      }
      const auto t0 = now_ns();
      *logits = engine->head(all);
      record("head", kCompute, t0);
    }
    const auto t0 = now_ns();
    for (auto& [work, to] : sends) wait(*work, "sending", to);
    wait_headers();
    record("sends done", "wait", t0);
  }

  // Posts the batch size to every other worker; `wait_headers` completes the sends (rank 0
  // runs its own unit meanwhile instead of waiting for the others to take it).
  std::vector<torch::Tensor> header;
  std::vector<c10::intrusive_ptr<c10d::Work>> header_sends;
  void send_header(std::int64_t batch) {
    header = {torch::tensor({batch}, torch::kLong)};
    for (int r = 1; r < o.world; ++r) header_sends.push_back(post(true, header, r, kHeaderTag, "starting an inference"));
  }
  void wait_headers() {
    for (std::size_t i = 0; i < header_sends.size(); ++i)
      wait(*header_sends[i], "starting an inference", static_cast<int>(i) + 1);
    header_sends.clear();
  }
};

Worker::Worker(const Deployment& deployment, const WorkerOptions& options) : impl_(std::make_unique<Impl>()) {
  auto& m = *impl_;
  m.d = deployment;
  m.o = options;
  CONCNAS_CHECK(options.world == deployment.plan.num_units,
                "--world {} does not match {}/plan.yaml, which has {} units", options.world, deployment.dir,
                deployment.plan.num_units);
  CONCNAS_CHECK(options.rank >= 0 && options.rank < options.world, "--rank {} outside 0..{}", options.rank,
                options.world - 1);
  CONCNAS_CHECK(options.cores >= 1, "--cores must be at least 1, got {}", options.cores);
  CONCNAS_CHECK(options.timeout.count() > 0, "the timeout must be positive");
  check_unit_file(deployment, options.rank);
  const std::string path = fmt::format("{}/unit_{}.pt", deployment.dir, options.rank);
  torch::jit::Module unit;
  try {
    unit = torch::jit::load(path);
  } catch (const c10::Error& e) {
    throw IoError(fmt::format("cannot load {}: {}", path, first_line(e.what())));
  }
  EngineOptions engine;
  engine.cores = options.cores;
  try {
    m.engine = std::make_unique<Engine>(deployment.arch, deployment.plan, options.rank, unit, engine);
  } catch (const Error& e) {
    throw Error(fmt::format("{}: {}", path, e.what()));
  }
  for (const auto& t : m.d.plan.transfers) {
    const bool to_me = std::find(t.to.begin(), t.to.end(), options.rank) != t.to.end();
    if (t.vertex == m.d.arch.dag.output()) {  // a partial sum of sinks
      if (t.from == options.rank) m.partial_out = &t;
      if (to_me) m.partials_in.push_back(&t);
    } else {
      if (t.from == options.rank) m.sent[t.vertex] = &t;
      if (to_me) m.received[t.vertex] = &t;
    }
  }
  if (options.world > 1) m.join();
}

Worker::~Worker() {
  // A process group whose peer vanished can block in its destructor; the process is
  // about to report the fault and exit, so leave it to the operating system.
  if (impl_ && impl_->pg && std::uncaught_exceptions() > 0) impl_->pg.release();
}

int Worker::rank() const { return impl_->o.rank; }

int Worker::cores() const { return impl_->o.cores; }

const std::vector<double>& Worker::compute_ms() const { return impl_->compute_ms; }

torch::Tensor Worker::infer(const torch::Tensor& images) {
  auto& m = *impl_;
  CONCNAS_CHECK(m.o.rank == 0, "only worker 0 starts inferences");
  const auto& in = m.d.arch.network.input;
  CONCNAS_CHECK(images.dim() == 4 && images.size(0) >= 1 && images.size(1) == in.channels &&
                    images.size(2) == in.height && images.size(3) == in.width,
                "images must be N x {} x {} x {}, got {}", in.channels, in.height, in.width, images.sizes());
  const auto t0 = now_ns();
  if (m.o.world > 1) m.send_header(images.size(0));
  torch::Tensor logits;
  m.run(images.size(0), &images, &logits);
  m.record("inference", "inference", t0);
  ++m.inference_no;
  return logits;
}

void Worker::finish() {
  auto& m = *impl_;
  if (m.o.rank == 0 && m.o.world > 1) {
    m.send_header(0);
    m.wait_headers();
  }
}

std::int64_t Worker::serve() {
  auto& m = *impl_;
  CONCNAS_CHECK(m.o.rank > 0, "worker 0 starts inferences; it does not serve");
  std::int64_t served = 0;
  for (;;) {
    std::vector<torch::Tensor> header{torch::empty({1}, torch::kLong)};
    auto work = m.post(false, header, 0, kHeaderTag, "waiting for the next inference");
    m.wait(*work, "waiting for the next inference", 0);
    const std::int64_t batch = header[0].item<std::int64_t>();
    if (batch == 0) return served;
    const auto t0 = now_ns();
    m.run(batch, nullptr, nullptr);
    m.record("inference", "inference", t0);
    ++m.inference_no;
    ++served;
  }
}

void Worker::write_trace() const {
  const auto& m = *impl_;
  if (m.o.trace.empty()) return;
  nlohmann::json events = nlohmann::json::array();
  events.push_back({{"name", "process_name"}, {"ph", "M"}, {"pid", m.o.rank}, {"tid", 0},
                    {"args", {{"name", fmt::format("worker {}", m.o.rank)}}}});
  for (const auto& e : m.events)
    events.push_back({{"name", e.name},
                      {"cat", e.cat},
                      {"ph", "X"},
                      {"pid", m.o.rank},
                      {"tid", std::string(e.cat) == "inference" ? 1 : e.thread == 0 ? 0 : e.thread + 1},
                      {"ts", static_cast<double>(e.begin_ns) / 1e3},
                      {"dur", static_cast<double>(e.end_ns - e.begin_ns) / 1e3},
                      {"args", {{"inference", e.inference}}}});
  write_file_atomic(m.o.trace, nlohmann::json{{"traceEvents", events}, {"displayTimeUnit", "ms"}}.dump() + "\n");
}

void merge_traces(const std::vector<std::string>& parts, const std::string& path) {
  nlohmann::json all = nlohmann::json::array();
  double first = std::numeric_limits<double>::infinity();
  for (const auto& part : parts) {
    std::ifstream in(part);
    if (!in) throw IoError("cannot read the worker trace " + part);
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(in);
    } catch (const nlohmann::json::exception& e) {
      throw IoError(fmt::format("{} is not a worker trace: {}", part, first_line(e.what())));
    }
    for (auto& e : j.at("traceEvents")) {
      if (e.contains("ts")) first = std::min(first, e["ts"].get<double>());
      all.push_back(std::move(e));
    }
  }
  for (auto& e : all)
    if (e.contains("ts")) e["ts"] = e["ts"].get<double>() - first;
  write_file_atomic(path, nlohmann::json{{"traceEvents", all}, {"displayTimeUnit", "ms"}}.dump() + "\n");
}

torch::Tensor normalise(const data::ImageSet& set, const InputSpec& input, std::size_t first, std::size_t count) {
  CONCNAS_CHECK(first + count <= set.size(), "images {}..{} outside the {} of the set", first, first + count,
                set.size());
  const int c = set.channels;
  auto x = torch::from_blob(const_cast<std::uint8_t*>(set.image(first)),
                            {static_cast<std::int64_t>(count), c, set.height, set.width}, torch::kUInt8)
               .to(torch::kFloat)
               .div_(255.0);
  std::vector<float> mean(c, 0.0F), std(c, 1.0F);
  for (int i = 0; i < c && i < static_cast<int>(input.mean.size()); ++i) mean[i] = static_cast<float>(input.mean[i]);
  for (int i = 0; i < c && i < static_cast<int>(input.std.size()); ++i) std[i] = static_cast<float>(input.std[i]);
  return x.sub_(torch::tensor(mean).view({1, c, 1, 1})).div_(torch::tensor(std).view({1, c, 1, 1}));
}

Deployment read_baseline(const Deployment& d, const std::string& dir) {
  auto b = read_deployment(dir);
  CONCNAS_CHECK(b.plan.num_units == 1,
                "--baseline {} has {} units; the baseline runs in one process (export it with --units 1)", dir,
                b.plan.num_units);
  CONCNAS_CHECK(config::architecture_to_yaml(b.arch) == config::architecture_to_yaml(d.arch),
                "--baseline {} deploys architecture '{}', not the one of {} ('{}')", dir, b.arch.name, d.dir,
                d.arch.name);
  CONCNAS_CHECK(b.input.mean == d.input.mean && b.input.std == d.input.std,
                "--baseline {} normalises its input differently from {} (another training run?)", dir, d.dir);
  check_unit_file(b, 0);
  return b;
}

BenchmarkReport run_benchmark(Worker& worker, const Deployment& d, const data::ImageSet& set,
                              const BenchmarkOptions& options, bool fp16) {
  const auto& in = d.arch.network.input;
  CONCNAS_CHECK(set.channels == in.channels && set.height == in.height && set.width == in.width,
                "the input images are {}x{}x{}; architecture '{}' takes {}x{}x{}", set.channels, set.height,
                set.width, d.arch.name, in.channels, in.height, in.width);
  CONCNAS_CHECK(set.size() >= 1, "the input set has no images");
  CONCNAS_CHECK(options.batch >= 1 && static_cast<std::size_t>(options.batch) <= set.size(),
                "--batch {} must be in 1..{} (the images in the set)", options.batch, set.size());
  CONCNAS_CHECK(options.all || options.runs >= 1, "--runs must be at least 1");
  CONCNAS_CHECK(options.warmup >= 0, "--warmup must be at least 0");
  const std::size_t batch = static_cast<std::size_t>(options.batch);
  const std::int64_t runs = options.all ? static_cast<std::int64_t>((set.size() + batch - 1) / batch) : options.runs;
  std::optional<LocalExecutor> reference;
  if (options.check) reference.emplace(d.arch, d.plan, d.dir);
  std::unique_ptr<Worker> base;
  if (!options.baseline.empty()) {
    const auto b = read_baseline(d, options.baseline);
    WorkerOptions o;
    o.cores = worker.cores();
    o.fp16 = fp16;
    base = std::make_unique<Worker>(b, o);
  }
  std::ofstream csv;
  const std::string csv_tmp = options.logits_csv + ".tmp";
  if (!options.logits_csv.empty()) {
    csv.open(csv_tmp);
    if (!csv) throw IoError("cannot write " + csv_tmp);
    csv << "image,label";
    for (int k = 0; k < d.arch.network.classes; ++k) csv << ",logit" << k;
    csv << "\n";
  }
  auto slice = [&](std::int64_t i) {
    std::size_t first = (static_cast<std::size_t>(i) * batch) % set.size();
    std::size_t count = std::min(batch, set.size() - first);
    return std::pair{first, count};
  };
  for (int i = 0; i < options.warmup; ++i) {
    const auto [first, count] = slice(i);
    const auto x = normalise(set, d.input, first, count);
    worker.infer(x);
    if (base) base->infer(x);
  }
  // The baseline runs the same images in blocks, before the deployment's block or after
  // it in turn: a peer idle for a whole baseline inference wakes slowly on a virtual
  // machine, which alternating every inference would charge to the deployment.
  constexpr std::int64_t kBlock = 10;
  auto baseline_first = [](std::int64_t i) { return (i / kBlock) % 2 == 1; };
  std::vector<double> base_ms, ratios;
  std::vector<torch::Tensor> block_logits, base_logits;
  double base_diff = 0;
  auto run_base_block = [&](std::int64_t begin) {
    base_logits.clear();
    for (std::int64_t i = begin; i < std::min(begin + kBlock, runs); ++i) {
      const auto [first, count] = slice(i);
      const auto x = normalise(set, d.input, first, count);
      const auto t0 = std::chrono::steady_clock::now();
      base_logits.push_back(base->infer(x));
      base_ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    }
  };
  BenchmarkReport r;
  r.worker0_cpus = cpus_of_this_process();
  r.units = d.plan.num_units;
  r.batch = options.batch;
  r.fp16 = fp16;
  r.bytes_per_image = fp16 ? d.plan.bytes_per_image() / 2 : d.plan.bytes_per_image();
  std::vector<double> ms;
  std::int64_t correct = 0;
  double max_diff = 0;
  double busy_s = 0;
  for (std::int64_t i = 0; i < runs; ++i) {
    const auto [first, count] = slice(i);
    const auto x = normalise(set, d.input, first, count);
    const std::int64_t block = i - i % kBlock;
    const bool base_first = baseline_first(i);
    if (base && i == block && base_first) run_base_block(block);
    const auto t0 = std::chrono::steady_clock::now();
    const auto logits = worker.infer(x);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    busy_s += s;
    ms.push_back(s * 1e3);
    if (base) {
      block_logits.push_back(logits);
      if (i + 1 == std::min(block + kBlock, runs)) {
        if (!base_first) run_base_block(block);
        for (std::size_t k = 0; k < block_logits.size(); ++k) {
          const std::size_t at = static_cast<std::size_t>(block) + k;
          ratios.push_back(base_ms[at] / ms[at]);
          base_diff = std::max(base_diff, (block_logits[k] - base_logits[k]).abs().max().item<double>());
        }
        block_logits.clear();
      }
    }
    r.images += static_cast<std::int64_t>(count);
    const auto predicted = logits.argmax(1);
    for (std::size_t k = 0; k < count; ++k)
      correct += predicted[static_cast<std::int64_t>(k)].item<std::int64_t>() == set.labels[first + k];
    if (reference) max_diff = std::max(max_diff, (logits - reference->forward(x)).abs().max().item<double>());
    if (csv.is_open()) {
      const auto rows = logits.contiguous();
      const float* p = rows.data_ptr<float>();
      for (std::size_t k = 0; k < count; ++k) {
        csv << first + k << "," << static_cast<int>(set.labels[first + k]);
        for (int c = 0; c < d.arch.network.classes; ++c)
          csv << "," << fmt::format("{:.9g}", p[k * d.arch.network.classes + c]);
        csv << "\n";
      }
    }
  }
  worker.finish();
  if (csv.is_open()) {
    csv.close();
    if (!csv) throw IoError("cannot write " + csv_tmp);
    std::rename(csv_tmp.c_str(), options.logits_csv.c_str());
  }
  if (!options.latencies_csv.empty()) {
    std::string rows = base ? "inference,ms,baseline_ms,baseline_first,baseline_compute_ms,w0_compute_ms\n"
                            : "inference,ms,w0_compute_ms\n";
    // Both workers count the untimed inferences too, and run one call per inference.
    const auto& compute = worker.compute_ms();
    const auto warmup = static_cast<std::size_t>(options.warmup);
    CONCNAS_CHECK(compute.size() == warmup + ms.size() && (!base || base->compute_ms().size() == compute.size()),
                  "worker 0 timed {} computations for {} inferences", compute.size(), warmup + ms.size());
    for (std::size_t i = 0; i < ms.size(); ++i) {
      rows += fmt::format("{},{:.6f}", i, ms[i]);
      if (base)
        rows += fmt::format(",{:.6f},{:d},{:.6f}", base_ms[i], baseline_first(static_cast<std::int64_t>(i)),
                            base->compute_ms()[warmup + i]);
      rows += fmt::format(",{:.6f}\n", compute[warmup + i]);
    }
    write_file_atomic(options.latencies_csv, rows);
  }
  r.inferences = runs;
  r.p50_ms = percentile(ms, 0.5);
  r.p95_ms = percentile(ms, 0.95);
  if (base) {
    BaselineReport b;
    b.dir = options.baseline;
    b.p50_ms = percentile(base_ms, 0.5);
    b.p95_ms = percentile(base_ms, 0.95);
    b.speedup = b.p50_ms / r.p50_ms;
    b.paired_speedup = percentile(ratios, 0.5);
    b.max_abs_diff = base_diff;
    r.baseline = b;
  }
  r.min_ms = *std::min_element(ms.begin(), ms.end());
  double total = 0;
  for (double v : ms) total += v;
  r.mean_ms = total / static_cast<double>(ms.size());
  r.images_per_s = busy_s > 0 ? static_cast<double>(r.images) / busy_s : 0;
  if (options.labelled) r.accuracy = static_cast<double>(correct) / static_cast<double>(r.images);
  if (reference) r.max_abs_diff = max_diff;
  return r;
}

std::string BenchmarkReport::to_json() const {
  nlohmann::ordered_json j{{"units", units},
                           {"batch", batch},
                           {"fp16", fp16},
                           {"inferences", inferences},
                           {"images", images},
                           {"latency_ms", {{"p50", p50_ms}, {"p95", p95_ms}, {"mean", mean_ms}, {"min", min_ms}}},
                           {"images_per_s", images_per_s},
                           {"bytes_per_image", bytes_per_image},
                           {"worker0_cpus", worker0_cpus}};
  j["accuracy"] = accuracy ? nlohmann::ordered_json(*accuracy) : nlohmann::ordered_json();
  j["max_abs_diff"] = max_abs_diff ? nlohmann::ordered_json(*max_abs_diff) : nlohmann::ordered_json();
  if (baseline)
    j["baseline"] = {{"plan", baseline->dir},
                     {"latency_ms", {{"p50", baseline->p50_ms}, {"p95", baseline->p95_ms}}},
                     {"speedup_p50", baseline->speedup},
                     {"paired_speedup_median", baseline->paired_speedup},
                     {"max_abs_diff", baseline->max_abs_diff}};
  return j.dump(2) + "\n";
}

std::string BenchmarkReport::to_text() const {
  std::string s = fmt::format("{} unit{}, batch {}{}: {} inferences, latency p50 {:.3f} ms, p95 {:.3f} ms, "
                              "{:.1f} images/s, {} bytes per image between units",
                              units, units == 1 ? "" : "s", batch, fp16 ? ", fp16 activations" : "", inferences,
                              p50_ms, p95_ms, images_per_s, bytes_per_image);
  if (accuracy) s += fmt::format(", accuracy {:.2f}%", *accuracy * 100);
  if (max_abs_diff) s += fmt::format(", max |logit - single process| {:.2e}", *max_abs_diff);
  if (baseline)
    s += fmt::format("\nbaseline {} (1 unit, alternating): p50 {:.3f} ms, p95 {:.3f} ms; speedup {:.2f}x at p50, "
                     "{:.2f}x median per inference; max |logit difference| {:.2e}",
                     baseline->dir, baseline->p50_ms, baseline->p95_ms, baseline->speedup, baseline->paired_speedup,
                     baseline->max_abs_diff);
  return s + "\n";
}

}  // namespace concnas::deploy
