#pragma once
// Internal: whether METIS calls this program's per-thread GKlib functions
// (gklib_per_thread.cpp) instead of its own process-wide ones.

#include <cstdint>

#ifdef CONCNAS_GKLIB_PER_THREAD
// The definitions METIS calls instead of GKlib's (declared for the tests).
extern "C" {
void gk_randinit(std::uint64_t seed);
std::uint32_t gk_randint32();
std::uint64_t gk_randint64();
}
#endif

namespace concnas::partition {

/// True when METIS calls the per-thread random generator and signal-free traps defined in
/// gklib_per_thread.cpp (tested by partitioning a tiny graph, so call it before any
/// concurrent METIS call): METIS calls may then run on several threads at once.
bool gklib_calls_are_per_thread();

}  // namespace concnas::partition
