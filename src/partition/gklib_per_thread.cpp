// Per-thread versions of the few GKlib functions that make METIS 5.1 share state between
// threads, so that two threads can partition at once and each partition stays a function
// of its seed.
//
// Debian's libmetis calls these through its procedure linkage table, so definitions in
// the program take their place (ordinary ELF symbol interposition):
// - gk_randinit / gk_randint32 / gk_randint64: GKlib draws from libc's srand()/rand(), one
//   generator for the whole process. Here each thread has its own generator running
//   glibc's algorithm (srandom_r/random_r, which rand() and srand() also use), so the
//   draws, and therefore the partitions, are the same numbers as before, per thread.
// - gk_sigtrap / gk_siguntrap: GKlib points SIGABRT and SIGTERM at a handler that
//   longjmps out of METIS for the length of each call and restores the previous handlers
//   after. Handlers belong to the process: `concnas search`'s SIGTERM handler was replaced
//   while METIS ran, and a SIGTERM taken by another thread then jumped through that
//   thread's empty buffer (1 in 3 SIGTERMs during scoring crashed the search); two
//   overlapping calls could also restore each other's handlers. Here they only keep
//   GKlib's per-thread jump-buffer depth, which METIS's setjmp reads. A METIS internal
//   error (none is reached with the graphs concnas builds) then ends the process
//   instead of returning METIS_ERROR.
//
// `gklib_calls_are_per_thread()` checks at run time that METIS really binds to these (a
// program that does not export them, or a METIS built otherwise, keeps the old, locked
// behaviour).
#include "gklib_per_thread.h"

#include <dlfcn.h>

#include <cstdint>
#include <cstdlib>

namespace {

struct ThreadRandom {
  char state[128] = {};
  random_data data = {};
  bool seeded = false;
};

ThreadRandom& thread_random() {
  thread_local ThreadRandom r;
  if (!r.seeded) {
    // As glibc's rand() before any srand(): seed 1.
    initstate_r(1, r.state, sizeof r.state, &r.data);
    r.seeded = true;
  }
  return r;
}

std::uint32_t draw() {
  std::int32_t value = 0;
  random_r(&thread_random().data, &value);
  return static_cast<std::uint32_t>(value);
}

}  // namespace

extern "C" {

// GKlib's jump-buffer depth: thread-local in libmetis, -1 outside any METIS call.
extern __thread int gk_cur_jbufs;

__attribute__((visibility("default"))) void gk_randinit(std::uint64_t seed) {
  srandom_r(static_cast<unsigned>(seed), &thread_random().data);
}

__attribute__((visibility("default"))) std::uint32_t gk_randint32() { return draw(); }

__attribute__((visibility("default"))) std::uint64_t gk_randint64() {
  const std::uint64_t high = draw();
  return high << 32 | draw();
}

// GKlib keeps at most 128 nested jump buffers.
__attribute__((visibility("default"))) int gk_sigtrap() {
  if (gk_cur_jbufs + 1 >= 128) return 0;
  ++gk_cur_jbufs;
  return 1;
}

__attribute__((visibility("default"))) int gk_siguntrap() {
  if (gk_cur_jbufs == -1) return 0;
  --gk_cur_jbufs;
  return 1;
}

}  // extern "C"

namespace concnas::partition {

bool gklib_calls_are_per_thread() {
  auto bound_here = [](const char* name, void* ours) { return dlsym(RTLD_DEFAULT, name) == ours; };
  return bound_here("gk_randinit", reinterpret_cast<void*>(&gk_randinit)) &&
         bound_here("gk_randint32", reinterpret_cast<void*>(&gk_randint32)) &&
         bound_here("gk_randint64", reinterpret_cast<void*>(&gk_randint64)) &&
         bound_here("gk_sigtrap", reinterpret_cast<void*>(&gk_sigtrap)) &&
         bound_here("gk_siguntrap", reinterpret_cast<void*>(&gk_siguntrap));
}

}  // namespace concnas::partition
