// The soak's mix; see soak_mix.h.
#include "soak_mix.h"

#include "soak_calls.h"

namespace quantd::soak {
namespace {

struct MixEntry {
  int weight;
  CallRecord (*call)(Caller&);
};

// Weights out of 100.
constexpr MixEntry kMix[] = {
    {12, [](Caller& c) { return QuantizeCall(c, Target::kInt8, Slots::kPerTensor); }},
    {8, [](Caller& c) { return QuantizeCall(c, Target::kInt8, Slots::kPerRow); }},
    {10, [](Caller& c) { return QuantizeCall(c, Target::kInt4, Slots::kPerGroup); }},
    {4, [](Caller& c) { return QuantizeCall(c, Target::kFp8E4M3, Slots::kPerTensor); }},
    {4, [](Caller& c) { return QuantizeCall(c, Target::kFp8E4M3, Slots::kPerRow); }},
    {5, QuantizeExplicitCall},
    {12, DequantizeCall},
    {10, MatMulCall},
    {3, AnalyzeCall},
    {5, [](Caller& c) { return CalibrateCall(c, false); }},
    {4, [](Caller& c) { return QuantizeStreamCall(c, false); }},
    {5, CancelledQuantizeCall},
    {4, ShortDeadlineQuantizeCall},
    {1, [](Caller& c) { return CalibrateCall(c, true); }},
    {2, [](Caller& c) { return QuantizeStreamCall(c, true); }},
    {11, MalformedCall},
};

constexpr int TotalWeight() {
  int total = 0;
  for (const MixEntry& e : kMix) total += e.weight;
  return total;
}
static_assert(TotalWeight() == 100, "the mix's weights are percentages");

}  // namespace

CallRecord RunOneCall(Caller& caller) {
  int64_t w = caller.Uniform(1, TotalWeight());
  const MixEntry* entry = &kMix[0];
  while (w > entry->weight) w -= (entry++)->weight;
  CallRecord record = entry->call(caller);
  caller.EndCall();
  return record;
}

}  // namespace quantd::soak
