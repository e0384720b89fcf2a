#pragma once
// The MPI side of `concnas search` under mpirun (mpi_world.cpp, built with MPI only):
// one initialised MPI world and the byte-string messages its ranks exchange. One thread
// at a time calls MPI (MPI_THREAD_SERIALIZED).

#include <cstddef>
#include <optional>
#include <string>

namespace concnas::cli {

/// What a message is (mpi_messages.h); every message is a byte string.
enum class MpiTag : int { kConfig = 1, kTask, kResult, kFile, kFailure, kStop };

/// The most one message carries (MPI counts in int).
inline constexpr std::size_t kMaxMessageBytes = 2147483647;

class MpiWorld {
 public:
  MpiWorld();  ///< MPI_Init_thread; throws `Error` if MPI cannot start
  ~MpiWorld();  ///< MPI_Finalize
  MpiWorld(const MpiWorld&) = delete;
  MpiWorld& operator=(const MpiWorld&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }
  std::string host() const;
  /// Ends every rank of the job with `code` (MPI_Abort); for failures on rank 0.
  [[noreturn]] void abort(int code) const;

  void send(int to, MpiTag tag, const std::string& bytes) const;
  /// The rank whose message with `tag` waits to be received (any rank for `from` < 0).
  std::optional<int> waiting(int from, MpiTag tag) const;
  std::string receive(int from, MpiTag tag) const;

 private:
  int rank_ = 0;
  int size_ = 1;
};

}  // namespace concnas::cli
