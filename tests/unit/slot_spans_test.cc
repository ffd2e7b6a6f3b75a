// ForEachSlotSpan gives SlotSpanAt's spans, one after the other, for every
// layout kind, with ranges starting and ending anywhere; ForEachKernelSpan
// covers the same elements with runs of whole groups where it may.
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

// ForEachKernelSpan: every element once, in order, in the slot
// SlotOf gives it; whole groups merged into runs only where every group is
// whole and a multiple of 16, elsewhere ForEachSlotSpan's spans.
TEST(SlotSpansTest, ForEachKernelSpanCoversEveryElementInItsSlot) {
  std::mt19937 rng(6);
  for (int64_t outer : {1, 3}) {
    for (int64_t axis_len : {32, 96, 130, 384}) {
      for (int64_t inner : {1, 5}) {
        for (int64_t group_size : {0, 16, 24, 32, 48, 128}) {
          const SlotLayout layout{outer, axis_len, inner, group_size};
          const bool runs = group_size % 16 == 0 && group_size > 0 && inner == 1 &&
                            axis_len % group_size == 0 && layout.slots() > 1;
          const int64_t count = outer * axis_len * inner;
          for (int trial = 0; trial < 20; ++trial) {
            const int64_t begin = std::uniform_int_distribution<int64_t>(0, count)(rng);
            const int64_t end = std::uniform_int_distribution<int64_t>(begin, count)(rng);
            SCOPED_TRACE(::testing::Message() << "layout " << outer << "x" << axis_len << "x" << inner
                                              << " group " << group_size << " [" << begin << ", "
                                              << end << ")");
            int64_t next = begin, merged = 0;
            ForEachKernelSpan(layout, begin, end, [&](SlotSpan span) {
              EXPECT_EQ(span.start, next);
              EXPECT_GT(span.count, 0);
              if (span.group > 0) {
                ++merged;
                EXPECT_TRUE(runs);
                EXPECT_EQ(span.group, group_size);
                EXPECT_EQ(span.start % group_size, 0);
                EXPECT_EQ(span.count % group_size, 0);
              }
              for (int64_t k = 0; k < span.count; ++k) {
                const int64_t slot = span.group > 0 ? span.slot + k / span.group
                                                    : span.slot + k * span.stride;
                EXPECT_EQ(slot, layout.SlotOf(span.start + k)) << "element " << span.start + k;
              }
              next = span.start + span.count;
              return true;
            });
            EXPECT_EQ(next, end);
            if (runs && end - begin >= 2 * group_size) {
              EXPECT_EQ(merged, 1);
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
