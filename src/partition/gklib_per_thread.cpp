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
//   GKlib's per-thread jump-buffer depth, which METIS's setjmp reads.
// - gk_errexit: GKlib reports an internal error (out of memory, a broken invariant) by
//   raising SIGABRT or SIGTERM for that handler to catch. With no handler installed the
//   signal would reach the program's own (a stop request for `concnas search`) and METIS
//   would carry on past its error; here the message is printed and the process aborts.
//   Before, such an error came back as METIS_ERROR; the graphs concnas builds reach none.
//
// `gklib_calls_are_per_thread()` checks by behaviour that METIS really calls these (a
// METIS linked with -Bsymbolic or built otherwise does not): a tiny partition must go
// through them. Otherwise METIS calls stay serialised. Configure with
// -DCONCNAS_GKLIB_PER_THREAD=OFF to leave the definitions out entirely (a static
// libmetis.a or a second GKlib in the same program would clash with them).
#include "gklib_per_thread.h"

#ifdef CONCNAS_GKLIB_PER_THREAD

#include <metis.h>

#include <cstdarg>
#include <cstdint>
#include <cstdio>
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

// Calls of our gk_randinit and gk_sigtrap on this thread: the check below needs both.
thread_local long seeded_here = 0;
thread_local long trapped_here = 0;

}  // namespace

extern "C" {

// GKlib's jump-buffer depth: thread-local in libmetis, -1 outside any METIS call.
extern __thread int gk_cur_jbufs;

__attribute__((visibility("default"))) void gk_randinit(std::uint64_t seed) {
  ++seeded_here;
  srandom_r(static_cast<unsigned>(seed), &thread_random().data);
}

__attribute__((visibility("default"))) std::uint32_t gk_randint32() { return draw(); }

// As GKlib's: the first draw is the high word.
__attribute__((visibility("default"))) std::uint64_t gk_randint64() {
  const std::uint64_t high = draw();
  return high << 32 | draw();
}

// GKlib keeps at most 128 nested jump buffers.
__attribute__((visibility("default"))) int gk_sigtrap() {
  ++trapped_here;
  if (gk_cur_jbufs + 1 >= 128) return 0;
  ++gk_cur_jbufs;
  return 1;
}

__attribute__((visibility("default"))) int gk_siguntrap() {
  if (gk_cur_jbufs == -1) return 0;
  --gk_cur_jbufs;
  return 1;
}

__attribute__((visibility("default"))) void gk_errexit(int signum, char* format, ...) {
  std::fprintf(stderr, "concnas: METIS internal error (signal %d): ", signum);
  va_list args;
  va_start(args, format);
  std::vfprintf(stderr, format, args);
  va_end(args);
  std::fputc('\n', stderr);
  std::abort();
}

}  // extern "C"

namespace concnas::partition {

bool gklib_calls_are_per_thread() {
  const long seeded = seeded_here;
  const long trapped = trapped_here;
  // A path of four vertices into two parts: METIS seeds its generator and sets its trap.
  idx_t n = 4, ncon = 1, parts = 2, objval = 0;
  idx_t xadj[] = {0, 1, 3, 5, 6};
  idx_t adjncy[] = {1, 0, 2, 1, 3, 2};
  idx_t part[4] = {};
  idx_t options[METIS_NOPTIONS];
  METIS_SetDefaultOptions(options);
  options[METIS_OPTION_NUMBERING] = 0;
  const int status = METIS_PartGraphRecursive(&n, &ncon, xadj, adjncy, nullptr, nullptr, nullptr,
                                              &parts, nullptr, nullptr, options, &objval, part);
  return status == METIS_OK && seeded_here > seeded && trapped_here > trapped;
}

}  // namespace concnas::partition

#else

namespace concnas::partition {

bool gklib_calls_are_per_thread() { return false; }

}  // namespace concnas::partition

#endif
