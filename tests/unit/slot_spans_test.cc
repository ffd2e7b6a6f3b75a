// ForEachSlotSpan gives SlotSpanAt's spans, one after the other, for every
// layout kind, with ranges starting and ending anywhere.
#include "kernels/slot_spans.h"

#include <random>
#include <vector>

#include <gtest/gtest.h>

namespace quantd {
namespace {

std::vector<SlotSpan> BySlotSpanAt(const SlotLayout& layout, int64_t begin, int64_t end) {
  std::vector<SlotSpan> spans;
  for (int64_t i = begin; i < end;) {
    spans.push_back(SlotSpanAt(layout, i, end));
    i += spans.back().count;
  }
  return spans;
}

TEST(SlotSpansTest, ForEachSlotSpanGivesSlotSpanAtsSpans) {
  std::mt19937 rng(5);
  for (int64_t outer : {1, 3}) {
    for (int64_t axis_len : {1, 7, 64, 130}) {
      for (int64_t inner : {1, 5}) {
        for (int64_t group_size : {0, 1, 3, 32, 64, 200}) {
          const SlotLayout layout{outer, axis_len, inner, group_size};
          const int64_t count = outer * axis_len * inner;
          for (int trial = 0; trial < 20; ++trial) {
            const int64_t begin = std::uniform_int_distribution<int64_t>(0, count)(rng);
            const int64_t end = std::uniform_int_distribution<int64_t>(begin, count)(rng);
            std::vector<SlotSpan> spans;
            ForEachSlotSpan(layout, begin, end, [&](SlotSpan span) {
              spans.push_back(span);
              return true;
            });
            const std::vector<SlotSpan> expected = BySlotSpanAt(layout, begin, end);
            ASSERT_EQ(spans.size(), expected.size());
            for (size_t k = 0; k < spans.size(); ++k) {
              SCOPED_TRACE(::testing::Message() << "layout " << outer << "x" << axis_len << "x" << inner
                                                << " group " << group_size << " [" << begin << ", "
                                                << end << ") span " << k);
              EXPECT_EQ(spans[k].start, expected[k].start);
              EXPECT_EQ(spans[k].count, expected[k].count);
              EXPECT_EQ(spans[k].slot, expected[k].slot);
              EXPECT_EQ(spans[k].stride, expected[k].stride);
            }
          }
        }
      }
    }
  }
}

TEST(SlotSpansTest, StopsWhenTheCallbackSaysSo) {
  const SlotLayout layout{2, 64, 1, 16};
  int calls = 0;
  ForEachSlotSpan(layout, 0, 128, [&](SlotSpan) { return ++calls < 3; });
  EXPECT_EQ(calls, 3);
}

}  // namespace
}  // namespace quantd
