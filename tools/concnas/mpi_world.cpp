#include "mpi_world.h"

#include <mpi.h>

#include <cstdlib>

#include <fmt/format.h>

#include "concnas/common/error.h"

namespace concnas::cli {

MpiWorld::MpiWorld() {
  int provided = 0;
  // Rank 0's server thread calls MPI while the main thread trains (never both at once).
  CONCNAS_CHECK(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_SERIALIZED, &provided) == MPI_SUCCESS,
                "MPI could not start (MPI_Init_thread failed)");
  CONCNAS_CHECK(provided >= MPI_THREAD_SERIALIZED,
                "this MPI library does not let a second thread call MPI (MPI_THREAD_SERIALIZED); rank 0 needs it");
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &size_);
}

MpiWorld::~MpiWorld() { MPI_Finalize(); }

std::string MpiWorld::host() const {
  char name[MPI_MAX_PROCESSOR_NAME];
  int length = 0;
  MPI_Get_processor_name(name, &length);
  return std::string(name, static_cast<std::size_t>(length));
}

void MpiWorld::abort(int code) const {
  MPI_Abort(MPI_COMM_WORLD, code);
  std::_Exit(code);  // MPI_Abort does not return; this keeps [[noreturn]] true if it did
}

void MpiWorld::send(int to, MpiTag tag, const std::string& bytes) const {
  CONCNAS_CHECK(bytes.size() <= kMaxMessageBytes, "an MPI message of {} bytes is over the {} one message carries",
                bytes.size(), kMaxMessageBytes);
  MPI_Send(bytes.data(), static_cast<int>(bytes.size()), MPI_BYTE, to, static_cast<int>(tag), MPI_COMM_WORLD);
}

std::optional<int> MpiWorld::waiting(int from, MpiTag tag) const {
  int flag = 0;
  MPI_Status status;
  MPI_Iprobe(from < 0 ? MPI_ANY_SOURCE : from, static_cast<int>(tag), MPI_COMM_WORLD, &flag, &status);
  if (!flag) return std::nullopt;
  return status.MPI_SOURCE;
}

std::string MpiWorld::receive(int from, MpiTag tag) const {
  MPI_Status status;
  MPI_Probe(from, static_cast<int>(tag), MPI_COMM_WORLD, &status);
  int count = 0;
  MPI_Get_count(&status, MPI_BYTE, &count);
  std::string bytes(static_cast<std::size_t>(count), '\0');
  MPI_Recv(bytes.data(), count, MPI_BYTE, from, static_cast<int>(tag), MPI_COMM_WORLD, MPI_STATUS_IGNORE);
  return bytes;
}

}  // namespace concnas::cli
