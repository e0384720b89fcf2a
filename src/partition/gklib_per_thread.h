#pragma once
// Internal: whether METIS calls this program's per-thread GKlib functions
// (gklib_per_thread.cpp) instead of its own process-wide ones.

namespace concnas::partition {

/// True when METIS binds to the per-thread random generator and signal-free traps defined
/// in gklib_per_thread.cpp: METIS calls may then run on several threads at once.
bool gklib_calls_are_per_thread();

}  // namespace concnas::partition
