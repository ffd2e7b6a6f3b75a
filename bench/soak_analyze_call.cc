// Analyze calls of the soak: each row's error must be the error of
// quantizing the input to that row's format, its bits the format's, and
// the Pareto marks must follow API.md's definition.
#include <cmath>

#include "absl/strings/str_cat.h"
#include "soak_calls.h"

namespace quantd::soak {
namespace {

struct Candidate {
  Target target;
  Layout layout;
  double bits;  // Element bits plus 32 per scale, per element.
};

std::vector<Candidate> Candidates(int64_t rows, int64_t cols) {
  const double n = static_cast<double>(rows * cols);
  Layout tensor{rows, cols, Slots::kPerTensor};
  Layout row{rows, cols, Slots::kPerRow};
  Layout group{rows, cols, Slots::kPerGroup, 32};
  return {{Target::kInt8, tensor, 8 + 32 / n},
          {Target::kInt8, row, 8 + 32 * rows / n},
          {Target::kInt4, group, 4 + 32 * static_cast<double>(group.slot_count()) / n}};
}

void SetCandidate(const Candidate& c, v1::QuantizeOptions* o) {
  o->set_dtype(DTypeOf(c.target));
  switch (c.layout.slots) {
    case Slots::kPerTensor:
      o->set_granularity(v1::GRANULARITY_PER_TENSOR);
      break;
    case Slots::kPerRow:
      o->set_granularity(v1::GRANULARITY_PER_CHANNEL);
      o->set_axis(0);
      break;
    case Slots::kPerGroup:
      o->set_granularity(v1::GRANULARITY_PER_GROUP);
      o->set_axis(-1);
      o->set_group_size(static_cast<int32_t>(c.layout.group_size));
      break;
  }
}

std::string VerifyRow(const v1::AnalyzeRow& row, const std::vector<float>& x, const Candidate& c) {
  const ReferenceQuantization ref = Quantize(x, c.layout, c.target);
  const v1::ErrorStats& e = row.error();
  const int64_t n = c.layout.count();
  if (e.count() != n || e.clipped_count() != ref.clipped) {
    return absl::StrCat("error: count ", e.count(), " clipped ", e.clipped_count(), ", expected ", n,
                        " and ", ref.clipped);
  }
  if (std::string d = CompareNear("error.mse", e.mse(), ref.sum_sq_error / n, 1e-6, 1e-300); !d.empty()) {
    return d;
  }
  return CompareNear("error.max_abs_error", e.max_abs_error(), ref.max_abs_error, 1e-6);
}

// API.md: on the front when no other row has fewer or equal bits and a
// higher SQNR, or fewer bits and an equal or higher SQNR.
std::string VerifyPareto(const v1::AnalyzeResponse& response) {
  for (int i = 0; i < response.rows_size(); ++i) {
    const v1::AnalyzeRow& row = response.rows(i);
    bool dominated = false;
    for (const v1::AnalyzeRow& other : response.rows()) {
      const double b = other.bits_per_element(), s = other.error().sqnr_db();
      dominated |= (b <= row.bits_per_element() && s > row.error().sqnr_db()) ||
                   (b < row.bits_per_element() && s >= row.error().sqnr_db());
    }
    if (row.pareto() == dominated) {
      return absl::StrCat("rows[", i, "].pareto is ", row.pareto(), " but the row is ",
                          dominated ? "" : "not ", "dominated");
    }
  }
  return "";
}

}  // namespace

CallRecord AnalyzeCall(Caller& caller) {
  const Layout shape = PickLayout(caller, caller.OneIn(2) ? Size::kSmall : Size::kMedium, Slots::kPerTensor);
  const std::vector<float> x = caller.values->Draw(caller.rng, shape.count());
  const std::vector<Candidate> candidates = Candidates(shape.rows, shape.cols);
  const bool sweep = caller.OneIn(4);
  v1::AnalyzeRequest request;
  const int64_t dims[] = {shape.rows, shape.cols};
  SetFloatTensor(x, dims, request.mutable_input());
  if (!sweep) {
    for (const Candidate& c : candidates) SetCandidate(c, request.add_candidates());
  }
  grpc::ClientContext context;
  caller.Prepare(&context);
  v1::AnalyzeResponse response;
  const auto start = Clock::now();
  const grpc::Status status = caller.stub->Analyze(&context, request, &response);
  return Judge(Rpc::kAnalyze, sweep ? "analyze_sweep" : "analyze", Expect::kAnswer, status, start,
               static_cast<int64_t>(request.input().data().size()), [&]() -> std::string {
    // The default sweep of a 2-D tensor has 17 rows (API.md's list); its
    // INT8 per-tensor row is checked like the explicit candidates.
    const int expected_rows = sweep ? 17 : static_cast<int>(candidates.size());
    if (response.rows_size() != expected_rows) {
      return absl::StrCat(response.rows_size(), " rows, expected ", expected_rows);
    }
    int checked = 0;
    for (int i = 0; i < response.rows_size(); ++i) {
      const v1::AnalyzeRow& row = response.rows(i);
      if (row.error().count() != shape.count()) {
        return absl::StrCat("rows[", i, "].error.count is ", row.error().count());
      }
      const v1::QuantizeOptions& o = row.options();
      const int match = !sweep ? i
                        : o.dtype() == v1::DTYPE_INT8 && o.granularity() == v1::GRANULARITY_PER_TENSOR
                            ? 0
                            : -1;
      if (match < 0) continue;
      ++checked;
      if (std::string d = VerifyRow(row, x, candidates[match]); !d.empty()) {
        return absl::StrCat("rows[", i, "] ", d);
      }
      if (std::string d = CompareNear("bits_per_element", row.bits_per_element(),
                                      candidates[match].bits, 1e-12);
          !d.empty()) {
        return absl::StrCat("rows[", i, "] ", d);
      }
    }
    if (checked != (sweep ? 1 : expected_rows)) {
      return absl::StrCat(checked, " rows of the formats checked, expected ", sweep ? 1 : expected_rows);
    }
    return VerifyPareto(response);
  });
}

}  // namespace quantd::soak
