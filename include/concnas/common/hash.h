#pragma once
/// \file
/// FNV-1a, 64-bit: the checksum of deployment files and the identity workers compare at
/// the handshake. Not cryptographic; it catches mix-ups, not tampering.
///
///     std::uint64_t h = concnas::Fnv1a().feed(text).value();

#include <cstddef>
#include <cstdint>
#include <string>

namespace concnas {

class Fnv1a {
 public:
  Fnv1a& feed(const void* data, std::size_t n) {
    const auto* b = static_cast<const unsigned char*>(data);
    for (std::size_t i = 0; i < n; ++i) h_ = (h_ ^ b[i]) * 1099511628211ULL;
    return *this;
  }
  Fnv1a& feed(const std::string& s) { return feed(s.data(), s.size()); }
  std::uint64_t value() const { return h_; }

 private:
  std::uint64_t h_ = 1469598103934665603ULL;
};

/// The FNV-1a of a file's bytes; throws `IoError` naming it when it cannot be read.
std::uint64_t file_fnv1a(const std::string& path);

}  // namespace concnas
