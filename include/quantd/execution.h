// Where and how a prepared job runs: on which threads, with which kernels,
// and until when.
#ifndef QUANTD_EXECUTION_H_
#define QUANTD_EXECUTION_H_

#include <functional>

#include "quantd/isa.h"

namespace quantd {

class KernelPool;

struct ExecutionContext {
  // Threads that help; nullptr runs everything on the calling thread.
  KernelPool* pool = nullptr;
  // Polled between chunks of work; when it returns true the job stops and
  // fails with CANCELLED.
  std::function<bool()> cancelled;
  // The highest kernel level allowed; the CPU may cap it further.
  Isa max_isa = Isa::kAvx512Vnni;
};

}  // namespace quantd

#endif  // QUANTD_EXECUTION_H_
