#include "transport.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <filesystem>

#include <fmt/format.h>

namespace concnas::deploy {
namespace detail {

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

std::vector<int> thread_ids() {
  std::vector<int> ids;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/task", ec)) {
    const std::string name = entry.path().filename().string();
    if (!name.empty() && std::all_of(name.begin(), name.end(), ::isdigit)) ids.push_back(std::stoi(name));
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

void make_batch_threads(const std::vector<int>& before) {
  const sched_param normal{};
  for (int tid : thread_ids())
    if (!std::binary_search(before.begin(), before.end(), tid)) (void)sched_setscheduler(tid, SCHED_BATCH, &normal);
}

}  // namespace detail

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
    impl_->store = c10::make_intrusive<c10d::TCPStore>(host, detail::store_options(port, true, timeout));
  } catch (const std::exception& e) {
    throw RuntimeFault(fmt::format("cannot serve the rendezvous on {}:{}: {}", host, port, first_line(e.what())));
  }
}
StoreServer::~StoreServer() = default;
int StoreServer::port() const { return impl_->store->getPort(); }

}  // namespace concnas::deploy
