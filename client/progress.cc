#include "client/progress.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>

#include "absl/strings/str_format.h"
#include "absl/time/clock.h"

namespace quantd::client {

std::optional<Progress::Mode> Progress::ParseMode(absl::string_view text) {
  if (text == "auto") return AutoMode();
  if (text == "bar") return Mode::kBar;
  if (text == "lines") return Mode::kLines;
  if (text == "none") return Mode::kNone;
  return std::nullopt;
}

Progress::Mode Progress::AutoMode() { return ::isatty(STDERR_FILENO) ? Mode::kBar : Mode::kLines; }

Progress::Progress(Mode mode, std::ostream& out, int64_t total_items, int64_t total_bytes)
    : mode_(mode),
      out_(out),
      total_items_(total_items),
      total_bytes_(total_bytes),
      start_(absl::Now()) {
  std::lock_guard<std::mutex> lock(mutex_);
  DrawLocked(/*force=*/true);
}

Progress::~Progress() { Finish(); }

std::string Progress::Bytes(double bytes) {
  constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int unit = 0;
  while (bytes >= 1024 && unit < 4) {
    bytes /= 1024;
    ++unit;
  }
  return unit == 0 ? absl::StrFormat("%.0f B", bytes) : absl::StrFormat("%.1f %s", bytes, kUnits[unit]);
}

std::string Progress::Eta(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "--";
  const int64_t s = static_cast<int64_t>(std::llround(seconds));
  if (s >= 3600) return absl::StrFormat("%dh%02dm", s / 3600, (s % 3600) / 60);
  if (s >= 60) return absl::StrFormat("%dm%02ds", s / 60, s % 60);
  return absl::StrFormat("%ds", s);
}

void Progress::AddBytes(int64_t bytes) {
  std::lock_guard<std::mutex> lock(mutex_);
  bytes_ += bytes;
  DrawLocked(/*force=*/false);
}

void Progress::ItemDone(int64_t bytes, absl::string_view line) {
  std::lock_guard<std::mutex> lock(mutex_);
  bytes_ += bytes;
  ++items_;
  if (mode_ == Mode::kLines) {
    out_ << absl::StrFormat("[%d/%d] ", items_, total_items_) << line << "\n";
    out_.flush();
  }
  DrawLocked(/*force=*/items_ == total_items_);
}

void Progress::Finish() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (finished_) return;
  finished_ = true;
  if (mode_ == Mode::kBar) {
    DrawLocked(/*force=*/true);
    out_ << "\n";
    out_.flush();
  }
}

void Progress::DrawLocked(bool force) {
  if (mode_ != Mode::kBar || finished_) return;
  const absl::Time now = absl::Now();
  if (!force && now - last_draw_ < absl::Milliseconds(100)) return;
  last_draw_ = now;
  const double elapsed = absl::ToDoubleSeconds(now - start_);
  const double rate = elapsed > 0 ? static_cast<double>(bytes_) / elapsed : 0;
  const double fraction =
      total_bytes_ > 0 ? static_cast<double>(bytes_) / static_cast<double>(total_bytes_)
                       : (total_items_ > 0 ? static_cast<double>(items_) / total_items_ : 1);
  constexpr int kWidth = 24;
  const int filled = std::clamp(static_cast<int>(fraction * kWidth), 0, kWidth);
  std::string bar = std::string(filled, '#') + std::string(kWidth - filled, '.');
  const double eta = rate > 0 ? static_cast<double>(total_bytes_ - bytes_) / rate : NAN;
  std::string line = absl::StrFormat(
      "[%s] %3.0f%%  %d/%d tensors  %s/%s  %s/s  ETA %s", bar, fraction * 100, items_,
      total_items_, Bytes(static_cast<double>(bytes_)), Bytes(static_cast<double>(total_bytes_)),
      Bytes(rate), bytes_ >= total_bytes_ ? "0s" : Eta(eta));
  const size_t width = line.size();
  if (width < last_width_) line.append(last_width_ - width, ' ');
  last_width_ = width;
  out_ << "\r" << line;
  out_.flush();
}

}  // namespace quantd::client
