#pragma once
// What the worker and the rendezvous server share: c10d's store and Gloo headers, and the
// helpers that set them up.

// c10d declares its Gloo process group only under this macro (Debian builds it in).
#define USE_C10D_GLOO 1
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <chrono>
#include <string>
#include <vector>

#include "concnas/deploy/worker.h"

namespace concnas::deploy::detail {

/// The local IPv4 address the kernel would use to reach `host` (no packet is sent).
std::string address_towards(const std::string& host);

/// The ids of this process's threads, ascending.
std::vector<int> thread_ids();

/// Runs every thread of this process not in `before` under SCHED_BATCH: a woken batch
/// thread does not preempt the running one (no privilege is needed to ask for it). Best
/// effort: a thread that is gone or refuses is left as it is.
void make_batch_threads(const std::vector<int>& before);

c10d::TCPStoreOptions store_options(int port, bool server, std::chrono::milliseconds timeout);

}  // namespace concnas::deploy::detail
