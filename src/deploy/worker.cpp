#include "concnas/deploy/worker.h"

#include <sched.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <limits>
#include <map>
#include <mutex>
#include <string_view>
#include <type_traits>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "concnas/common/atomic_file.h"
#include "concnas/deploy/engine.h"
#include "transport.h"
#include "one_openmp_thread.h"
#include "steady_ns.h"

namespace concnas::deploy {
namespace {

constexpr int kHeaderTag = 0;
// The trace category of the stem, vertex, partial-sum and head calls.
constexpr const char* kCompute = "compute";
int tag_of(int vertex) { return vertex + 1; }
// After the last inference, each worker's bytes sent, to rank 0: past every vertex's tag.
int stats_tag(const arch::Architecture& a) { return a.dag.num_vertices() + 1; }

using detail::now_ns;

double seconds(std::chrono::milliseconds ms) { return static_cast<double>(ms.count()) / 1000.0; }

std::vector<std::uint8_t> bytes_of(const std::string& s) { return {s.begin(), s.end()}; }

}  // namespace

struct Worker::Impl {
  Deployment d;
  WorkerOptions o;
  std::unique_ptr<Engine> engine;
  std::mutex mutex;                           // the engine's threads record and send through it
  std::map<int, const Transfer*> sent;        // transfers this unit sends, by vertex
  std::map<int, const Transfer*> received;    // transfers this unit receives, by vertex
  std::vector<const Transfer*> partials_in;   // unit 0: the other units' partial sums, by unit
  const Transfer* partial_out = nullptr;      // units > 0 holding sinks: their partial sum
  using Incoming = std::pair<torch::Tensor, c10::intrusive_ptr<c10d::Work>>;
  // Images ahead of the stem: a unit that runs the stem on the images posts the next
  // inference's images receive, of the last batch, as soon as an inference ends, so that
  // worker 0 can send the images right after the header instead of after its own stem.
  // `ahead_batch` is that receive's batch (0: none is posted); `ahead` the receive.
  std::int64_t ahead_batch = 0;
  Incoming ahead;
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
  std::int64_t bytes_sent = 0;   // handed to Gloo for other units (this worker's; rank 0: all after finish)
  std::int64_t images_run = 0;   // rank 0: images of every inference started
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

  // With --slowdown S > 1 a step that took t busy-waits (S - 1) t more, so that this core
  // computes as a device S times slower would (sends and receives are not slowed).
  void slow_down(std::int64_t begin_ns) const {
    if (o.slowdown <= 1) return;
    const std::int64_t now = now_ns();
    const auto until = now + static_cast<std::int64_t>((o.slowdown - 1) * static_cast<double>(now - begin_ns));
    while (now_ns() < until) {
    }
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
                                                   detail::store_options(o.master.port, o.rank == 0 && o.serve_store, o.timeout));
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
    const std::string bind = o.bind.empty() ? detail::address_towards(o.master.host) : o.bind;
    const auto before = detail::thread_ids();
    try {
      options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname(bind));
      pg = c10::make_intrusive<c10d::ProcessGroupGloo>(c10::make_intrusive<c10d::PrefixStore>("gloo", store),
                                                       o.rank, o.world, options);
    } catch (const std::exception& e) {
      fault(fmt::format("cannot connect to the other workers from {}: {}", bind, first_line(e.what())));
    }
    // Gloo's threads must not preempt the engine while it holds a connection's lock (they
    // would spin on it until the next tick, docs/deploy.md): they run as batch threads.
    detail::make_batch_threads(before);
  }

  // The element type transfer `t` travels in: float16 where its edges are fp16 or `--fp16`.
  torch::ScalarType wire_of(const Transfer& t) const { return t.half || o.fp16 ? torch::kHalf : torch::kFloat; }
  Incoming post_receive(const Transfer& t, std::int64_t batch, const std::string& what) {
    std::vector<torch::Tensor> buf{torch::empty({batch, t.shape.height, t.shape.width, t.shape.channels}, wire_of(t))};
    return {buf[0], post(false, buf, t.from, tag_of(t.vertex), what)};
  }
  const Transfer* images_in() const {
    const auto it = received.find(d.arch.dag.input());
    return it == received.end() ? nullptr : it->second;
  }
  const Transfer* images_out() const {
    const auto it = sent.find(d.arch.dag.input());
    return it == sent.end() ? nullptr : it->second;
  }
  // After an inference of `batch` images: a unit that takes the images posts the next
  // inference's receive; worker 0 notes that it was posted.
  void expect_images_ahead(std::int64_t batch) {
    if (const Transfer* t = images_in()) ahead = post_receive(*t, batch, "receiving the images");
    if (images_in() || images_out()) ahead_batch = batch;
  }
  // After the last inference: worker 0 fills the receives posted ahead with zeros, and the
  // units that posted them wait for those.
  void close_images_ahead() {
    if (ahead_batch == 0) return;
    if (const Transfer* t = images_out()) {
      std::vector<torch::Tensor> zeros{
          torch::zeros({ahead_batch, t->shape.height, t->shape.width, t->shape.channels}, wire_of(*t))};
      for (int peer : t->to) wait(*post(true, zeros, peer, tag_of(t->vertex), "closing"), "closing", peer);
    }
    if (const Transfer* t = images_in()) wait(*ahead.second, "closing", t->from);
    ahead_batch = 0;
  }

  // One inference's messages: receives posted up front, sends posted as outputs are ready
  // (from any engine thread), all completed at the end.
  struct Exchange {
    Impl& m;
    std::int64_t batch;
    std::map<int, Incoming> incoming;
    std::vector<Incoming> partials;
    std::vector<std::pair<c10::intrusive_ptr<c10d::Work>, int>> sends;
    std::vector<std::vector<torch::Tensor>> sent_buffers;  // alive until the sends complete
    std::vector<std::pair<c10::intrusive_ptr<c10d::Work>, int>> stand_ins;  // receives of zeros
    bool images_sent = false;  // worker 0: the images went ahead of the stem

    Exchange(Impl& impl, std::int64_t b) : m(impl), batch(b) {
      for (const auto& [v, t] : m.received)
        incoming[v] = v == m.d.arch.dag.input() && m.ahead_batch > 0 ? take_ahead(*t)
                                                                     : m.post_receive(*t, batch, fmt::format("receiving v{}", v));
      for (const Transfer* t : m.partials_in) partials.push_back(m.post_receive(*t, batch, "receiving a partial sum"));
      // As after a send (below): Gloo's thread takes in what the senders send.
      sched_yield();
    }
    // The images' receive posted after the last inference: this batch's first rows when it
    // is no larger (worker 0 pads it), else it takes zeros and this batch gets a receive.
    Incoming take_ahead(const Transfer& t) {
      auto [buf, work] = std::move(m.ahead);
      const std::int64_t posted = m.ahead_batch;
      m.ahead = {};
      m.ahead_batch = 0;
      if (posted >= batch) return {buf.narrow(0, 0, batch), work};
      stand_ins.emplace_back(work, t.from);
      return m.post_receive(t, batch, "receiving the images");
    }
    // Worker 0, right after the header: the images into the receives posted after the last
    // inference, padded to their batch if smaller; a larger batch sends them zeros, and the
    // images go after the stem.
    void send_images_ahead(const Transfer& t, const torch::Tensor& images) {
      const std::int64_t posted = m.ahead_batch;
      m.ahead_batch = 0;
      images_sent = batch <= posted;
      if (batch == posted) return send(t, images, "images");
      auto padded = torch::zeros({posted, images.size(1), images.size(2), images.size(3)});
      if (images_sent) padded.narrow(0, 0, batch).copy_(images);
      send(t, padded, images_sent ? "images" : "zeros", images_sent ? batch : 0);
    }
    // A received buffer as the float tensor the engine takes. Activations travel
    // channel-last (batch x H x W x C), as the engine computes them: neither side copies to
    // change the layout.
    torch::Tensor widened(const torch::Tensor& buf) const { return buf.to(torch::kFloat).permute({0, 3, 1, 2}); }
    torch::Tensor take(int v) {
      const auto t0 = now_ns();
      auto& [buf, work] = incoming.at(v);
      m.wait(*work, fmt::format("receiving v{}", v), m.received.at(v)->from);
      auto x = widened(buf);
      std::lock_guard<std::mutex> lock(m.mutex);
      m.record([&] { return v == m.d.arch.dag.input() ? std::string("wait images") : fmt::format("wait v{}", v); },
               "wait", t0);
      return x;
    }
    // Sends what transfer `t` carries of `x`: its first channels, in its element type;
    // `rows` of it count as sent (-1: all, as they are real; padding and zeros are not).
    void send(const Transfer& t, const torch::Tensor& x, const std::string& name, std::int64_t rows = -1) {
      const auto t0 = now_ns();
      const int v = t.vertex;
      std::lock_guard<std::mutex> lock(m.mutex);
      const auto part = t.shape.channels < x.size(1) ? x.narrow(1, 0, t.shape.channels) : x;
      sent_buffers.push_back({part.to(m.wire_of(t)).permute({0, 2, 3, 1}).contiguous()});
      const auto& buf = sent_buffers.back()[0];
      const auto counted = rows < 0 ? buf.nbytes() : buf.nbytes() / static_cast<std::size_t>(buf.size(0)) * rows;
      m.bytes_sent += static_cast<std::int64_t>(counted * t.to.size());
      for (int peer : t.to)
        sends.emplace_back(m.post(true, sent_buffers.back(), peer, tag_of(v), "sending " + name), peer);
      m.record("send " + name, "send", t0);
      // Gloo's thread (a batch thread, see join) finishes the send once the receiver is
      // ready; yielding lets it run now rather than when the engine next waits.
      sched_yield();
    }
    // Unit 0: the other units' partial sums, by unit.
    std::vector<torch::Tensor> gather_partials() {
      std::vector<torch::Tensor> all;
      for (std::size_t i = 0; i < partials.size(); ++i) {
        const int from = m.partials_in[i]->from;
        const auto t0 = now_ns();
        m.wait(*partials[i].second, "receiving the partial sum", from);
        all.push_back(widened(partials[i].first));
        m.record([&] { return fmt::format("wait partial{}", from); }, "wait", t0);
      }
      return all;
    }
    void complete() {
      const auto t0 = now_ns();
      for (auto& [work, to] : sends) m.wait(*work, "sending", to);
      for (auto& [work, from] : stand_ins) m.wait(*work, "receiving zeros for the images", from);
      m.wait_headers();
      m.record("sends done", "wait", t0);
    }
  };

  // One inference on this unit; rank 0 passes the images and gets the logits.
  void run(std::int64_t batch, const torch::Tensor* images, torch::Tensor* logits) {
    c10::InferenceMode inference;
    const detail::OneOpenMpThread one_thread;  // the sends' layout copies included
    compute_ms.push_back(0.0);  // this inference's (inference_no's) entry, even if it computes nothing
    try {
      run_once(batch, images, logits);
    } catch (...) {
      compute_ms.pop_back();  // a failed inference is not counted (inference_no stays)
      throw;
    }
  }

  void run_once(std::int64_t batch, const torch::Tensor* images, torch::Tensor* logits) {
    const auto& dag = d.arch.dag;
    const auto posted = now_ns();
    Exchange x(*this, batch);
    record("post receives", "wait", posted);
    EngineHooks hooks;
    hooks.receive = [&](int v) { return x.take(v); };
    // The units that read the stem's output get the images and run the stem themselves.
    // Where they posted their receive after the last inference, the images go now, ahead of
    // this unit's stem (Gloo writes them in this thread, as the receive is known). Else
    // they go once this unit's stem is done: by then the receivers have posted their
    // receives, and Gloo's thread (a batch thread on this core) sends them in the yield
    // after posting instead of after this unit's last vertex.
    if (const Transfer* t = images_out(); t != nullptr && ahead_batch > 0)
      x.send_images_ahead(*t, images->to(torch::kFloat));
    hooks.computed = [&](int v, const torch::Tensor& t) {
      const auto it = sent.find(v);
      if (it == sent.end()) return;
      if (v == dag.input()) {
        if (!x.images_sent) x.send(*it->second, images->to(torch::kFloat), "images");
      } else
        x.send(*it->second, t, fmt::format("v{}", v));
    };
    hooks.ran = [&](int v, int thread, std::int64_t t0) {
      slow_down(t0);
      std::lock_guard<std::mutex> lock(mutex);
      const std::string name = v == dag.input() ? "stem" : v == dag.output() ? "partial" : fmt::format("v{}", v);
      record(name, kCompute, t0, thread);
    };
    std::vector<torch::Tensor> sums;
    const auto partial = engine->run(batch, images, hooks);
    if (partial.defined()) sums.push_back(partial);
    if (partial.defined() && partial_out) x.send(*partial_out, partial, "partial");
    if (o.rank == 0) {
      for (auto& p : x.gather_partials()) sums.push_back(std::move(p));
      const auto t0 = now_ns();
      *logits = engine->head(sums);
      slow_down(t0);
      record("head", kCompute, t0);
    }
    x.complete();
    expect_images_ahead(batch);
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
  m.record("header", "send", t0);
  torch::Tensor logits;
  m.run(images.size(0), &images, &logits);
  m.record("inference", "inference", t0);
  ++m.inference_no;
  m.images_run += images.size(0);
  return logits;
}

void Worker::finish() {
  auto& m = *impl_;
  if (m.o.rank != 0 || m.o.world == 1) return;
  m.send_header(0);
  m.wait_headers();
  m.close_images_ahead();
  for (int r = 1; r < m.o.world; ++r) {
    std::vector<torch::Tensor> sent{torch::empty({1}, torch::kLong)};
    m.wait(*m.post(false, sent, r, stats_tag(m.d.arch), "collecting what was sent"), "collecting what was sent", r);
    m.bytes_sent += sent[0].item<std::int64_t>();
  }
}

double Worker::bytes_sent_per_image() const {
  const auto& m = *impl_;
  return m.images_run == 0 ? 0.0 : static_cast<double>(m.bytes_sent) / static_cast<double>(m.images_run);
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
    if (batch == 0) {
      m.close_images_ahead();
      std::vector<torch::Tensor> sent{torch::tensor({m.bytes_sent}, torch::kLong)};
      m.wait(*m.post(true, sent, 0, stats_tag(m.d.arch), "reporting what was sent"), "reporting what was sent", 0);
      return served;
    }
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

}  // namespace concnas::deploy
