#pragma once
/// \file
/// The model-parallel runtime: one worker process per unit of an exported deployment,
/// joined through LibTorch's c10d (a TCPStore for rendezvous, a Gloo process group for the
/// tensors).
///
///     auto d = concnas::deploy::read_deployment("deploy/");
///     concnas::deploy::WorkerOptions o;
///     o.rank = rank; o.world = d.plan.num_units; o.master = {"10.0.0.1", 29500};
///     concnas::deploy::Worker w(d, o);      // loads its unit, joins, checks the others
///     if (rank == 0) { auto logits = w.infer(images); w.finish(); } else { w.serve(); }
///
/// Every unit runs its vertices on concnas's engine (deploy/engine.h), on `cores` threads,
/// ready vertices first by their longest path to the output; a vertex output needed
/// elsewhere is sent as soon as it is computed (the send is asynchronous: the unit keeps
/// computing), and receives are posted at the start of an inference. Unit 0 starts each inference by
/// telling the others the batch size, runs the stem and, at the end, the head.
///
/// Faults: a peer that is not there within `timeout` (at the rendezvous, the handshake or
/// any receive), or whose connection drops, makes `Worker` throw `RuntimeFault` naming the
/// peer; a peer running another deployment is refused at the handshake. A worker that has
/// thrown is not used again (its peers' messages may still be in flight): make a new one.

#include <torch/script.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "concnas/common/error.h"
#include "concnas/deploy/plan.h"

namespace concnas::deploy {

/// A peer failed, never came, or runs another deployment.
class RuntimeFault : public Error {
 public:
  using Error::Error;
};

struct Endpoint {
  std::string host = "127.0.0.1";
  int port = 29500;
};

/// The CPUs this process may run on (its affinity), ascending; empty if unreadable.
std::vector<int> cpus_of_this_process();

/// "HOST:PORT" -> Endpoint; throws `InvalidArgument` naming `flag` otherwise.
Endpoint parse_endpoint(const std::string& text, const std::string& flag);

struct WorkerOptions {
  int rank = 0;
  int world = 1;
  Endpoint master;
  /// Rank 0 serves the TCPStore at `master` unless someone else does (`concnas run
  /// --local` serves it from the launcher).
  bool serve_store = true;
  /// Address Gloo listens on; empty: the local address that routes to the master.
  std::string bind;
  std::chrono::milliseconds timeout{30000};
  /// Cores this worker runs its unit on: the engine's threads (deploy/engine.h), which
  /// run independent vertices at the same time.
  int cores = 1;
  bool fp16 = false;   ///< send activations as float16 (halves the traffic)
  /// A device this many times slower than this core: each compute step busy-waits
  /// (slowdown - 1) times its own time after it (the stem, the vertices, the partial sum
  /// and the head; not the sends' and receives' copies). 1: full speed.
  double slowdown = 1;
  /// When set, the worker records when each inference's stem, vertices and head ran and
  /// how long it waited for each received tensor, and `write_trace` writes them here as a
  /// Chrome trace (chrome://tracing, Perfetto). Times are the host's monotonic clock, so
  /// traces of workers on one host line up.
  std::string trace;
};

/// A TCPStore server for workers that do not host it themselves.
class StoreServer {
 public:
  /// Listens on `host`:`port` (0: any free port).
  StoreServer(const std::string& host, int port, std::chrono::milliseconds timeout);
  ~StoreServer();
  int port() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

class Worker {
 public:
  /// Loads this rank's unit (checking its checksum), joins the rendezvous and checks that
  /// every peer runs the same deployment; throws `RuntimeFault` when one does not, or does
  /// not come within the timeout.
  Worker(const Deployment& deployment, const WorkerOptions& options);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  /// Rank 0: one inference of normalised images (N x C x H x W) across all units.
  torch::Tensor infer(const torch::Tensor& images);
  /// Rank 0: tells the other workers that no inference follows.
  void finish();
  /// Ranks > 0: runs inferences as rank 0 starts them until it calls `finish`, then sends
  /// rank 0 what it sent. Returns the number of inferences served.
  std::int64_t serve();
  /// Rank 0 after `finish`: the bytes every worker handed to the transport for other units
  /// (tensors and partial sums, not the batch-size headers), over the images of every
  /// inference so far. 0 before any inference.
  double bytes_sent_per_image() const;

  int rank() const;
  int cores() const;

  /// Milliseconds this worker spent in its stem, vertex, partial-sum and head calls in each
  /// inference so far, untimed ones included (the rest of an inference it waited or sent).
  /// On a shared host this tells a worker slowed by the host from one kept waiting:
  ///
  ///     w.infer(x);
  ///     double waited = total_ms - w.compute_ms().back();
  const std::vector<double>& compute_ms() const;

  /// Writes the recorded events to `options.trace` (nothing when it is empty).
  void write_trace() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// Joins the Chrome traces `parts` (one per worker, as `Worker::write_trace` writes them)
/// into one file at `path`, with times relative to the earliest event.
void merge_traces(const std::vector<std::string>& parts, const std::string& path);

}  // namespace concnas::deploy
