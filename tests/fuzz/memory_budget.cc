// Live-byte accounting through the sanitizer allocator's hooks.
#include "tests/fuzz/memory_budget.h"

#include <sanitizer/allocator_interface.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>

namespace quantd::fuzz {
namespace {

std::atomic<int64_t> live{0};
std::atomic<int64_t> peak{0};

void OnMalloc(const volatile void*, size_t size) {
  const int64_t now = live.fetch_add(static_cast<int64_t>(size)) + static_cast<int64_t>(size);
  for (int64_t seen = peak.load(); now > seen && !peak.compare_exchange_weak(seen, now);) {
  }
}

void OnFree(const volatile void* ptr) {
  // The hook runs before the chunk is released, so its size is still known.
  if (ptr != nullptr) {
    live.fetch_sub(static_cast<int64_t>(__sanitizer_get_allocated_size(const_cast<const void*>(ptr))));
  }
}

void InstallHooksOnce() {
  static const bool installed = [] {
    __sanitizer_install_malloc_and_free_hooks(OnMalloc, OnFree);
    return true;
  }();
  (void)installed;
}

}  // namespace

MemoryBudget::MemoryBudget(size_t request_bytes, int64_t bound)
    : request_bytes_(static_cast<int64_t>(request_bytes)), bound_(bound) {
  InstallHooksOnce();
  start_ = live.load();
  peak.store(start_);
}

MemoryBudget::~MemoryBudget() {
  const int64_t used = peak.load() - start_;
  const int64_t budget = kFixedAllowance + bound_ + kBytesPerRequestByte * request_bytes_;
  if (used > budget) {
    std::fprintf(stderr,
                 "==quantd fuzz== a request of %lld bytes made the heap grow by %lld bytes, "
                 "above its budget of %lld (%lld + %lld + %lld per request byte)\n",
                 static_cast<long long>(request_bytes_), static_cast<long long>(used),
                 static_cast<long long>(budget), static_cast<long long>(kFixedAllowance),
                 static_cast<long long>(bound_), static_cast<long long>(kBytesPerRequestByte));
    std::abort();
  }
}

}  // namespace quantd::fuzz
