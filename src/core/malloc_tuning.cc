// mallopt settings: no mmap'd blocks below 256 MiB, no trimming, one arena.
#include "quantd/malloc_tuning.h"

#include <malloc.h>

#include <cstdlib>
#include <cstring>

namespace quantd {

void TuneMallocForLargeMessages() {
  const char* tunables = std::getenv("GLIBC_TUNABLES");
  if (tunables != nullptr && std::strstr(tunables, "glibc.malloc.") != nullptr) return;
  mallopt(M_MMAP_THRESHOLD, 256 << 20);
  mallopt(M_TRIM_THRESHOLD, 0x7fffffff);
  mallopt(M_ARENA_MAX, 1);
}

}  // namespace quantd
