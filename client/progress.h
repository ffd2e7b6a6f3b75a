// Progress of a long multi-item job (tensors of a checkpoint) on stderr: on a
// terminal, one line redrawn in place (items and bytes done of the total,
// rate, ETA); otherwise one plain line per finished item, for logs.
#ifndef QUANTD_CLIENT_PROGRESS_H_
#define QUANTD_CLIENT_PROGRESS_H_

#include <cstdint>
#include <mutex>
#include <optional>
#include <ostream>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace quantd::client {

class Progress {
 public:
  enum class Mode { kBar, kLines, kNone };
  // "auto" (a bar when stderr is a terminal, lines otherwise), "bar",
  // "lines" or "none"; nullopt for anything else.
  static std::optional<Mode> ParseMode(absl::string_view text);
  static Mode AutoMode();

  Progress(Mode mode, std::ostream& out, int64_t total_items, int64_t total_bytes);
  ~Progress();

  // Bytes processed within an item still running (streamed chunks).
  void AddBytes(int64_t bytes);
  // An item finished; `bytes` is what it had left to count, `line` its
  // one-line summary (shown in lines mode).
  void ItemDone(int64_t bytes, absl::string_view line);
  // Ends the bar's line (no-op otherwise); idempotent.
  void Finish();

  // "1.5 GiB", "12.0 MiB", "512 B".
  static std::string Bytes(double bytes);
  // "1h02m", "3m05s", "42s".
  static std::string Eta(double seconds);

 private:
  void DrawLocked(bool force);

  const Mode mode_;
  std::ostream& out_;
  const int64_t total_items_;
  const int64_t total_bytes_;
  const absl::Time start_;
  std::mutex mutex_;
  int64_t items_ = 0;
  int64_t bytes_ = 0;
  absl::Time last_draw_ = absl::InfinitePast();
  size_t last_width_ = 0;
  bool finished_ = false;
};

}  // namespace quantd::client

#endif  // QUANTD_CLIENT_PROGRESS_H_
