// Process-wide glibc malloc settings for programs that move large messages.
#ifndef QUANTD_MALLOC_TUNING_H_
#define QUANTD_MALLOC_TUNING_H_

namespace quantd {

// glibc returns large blocks to the kernel on free (mmap threshold, trim),
// so every MiB-sized message is page-faulted in again, at a fraction of
// memory speed. Keeping freed memory in the heap and one arena makes the
// next message reuse warm pages. Call first thing in main(); an explicit
// GLIBC_TUNABLES malloc setting in the environment wins.
void TuneMallocForLargeMessages();

}  // namespace quantd

#endif  // QUANTD_MALLOC_TUNING_H_
