// quantctl's pieces that need no server: flag parsing, enum words, params
// JSON, the hand-encoded health messages, status mapping and usage errors.
#include <cfloat>
#include <cmath>
#include <sstream>
#include <string>
#include <vector>

#include "client/cli_args.h"
#include "client/proto_text.h"
#include "client/quantctl_commands.h"
#include "client/quantd_client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace quantd::client {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr FlagSpec kSpecs[] = {
    {"in", true}, {"axis", true}, {"full_range", false}, {"clip_min", true}, {"timeout", true}};

absl::StatusOr<ParsedArgs> Parse(std::vector<std::string> args) {
  return ParsedArgs::Parse(args, kSpecs);
}

TEST(CliArgsTest, AcceptsEqualsSpaceAndSwitchForms) {
  absl::StatusOr<ParsedArgs> args =
      Parse({"quantize", "--in=x.npy", "--axis", "-1", "--full_range", "--clip_min", "-3.5"});
  ASSERT_TRUE(args.ok()) << args.status();
  EXPECT_THAT(args->positional(), ElementsAre("quantize"));
  EXPECT_EQ(*args->GetString("in"), "x.npy");
  EXPECT_EQ(**args->GetInt32("axis"), -1);
  EXPECT_TRUE(*args->GetBool("full_range"));
  EXPECT_EQ(**args->GetFloat("clip_min"), -3.5f);
  EXPECT_FALSE(args->GetInt64("timeout")->has_value());
}

TEST(CliArgsTest, DoubleDashEndsFlags) {
  absl::StatusOr<ParsedArgs> args = Parse({"--", "--in"});
  ASSERT_TRUE(args.ok());
  EXPECT_THAT(args->positional(), ElementsAre("--in"));
}

TEST(CliArgsTest, RejectsUnknownRepeatedAndMissingValues) {
  EXPECT_THAT(Parse({"--out=x"}).status().message(), HasSubstr("unknown flag --out"));
  EXPECT_THAT(Parse({"--in=a", "--in=b"}).status().message(), HasSubstr("more than once"));
  EXPECT_THAT(Parse({"--in"}).status().message(), HasSubstr("needs a value"));
  EXPECT_FALSE(Parse({"-x"}).ok());
}

TEST(CliArgsTest, TypedGettersRejectBadValues) {
  absl::StatusOr<ParsedArgs> args =
      Parse({"--axis=one", "--full_range=maybe", "--clip_min=inf", "--timeout=soon"});
  ASSERT_TRUE(args.ok());
  EXPECT_THAT(args->GetInt32("axis").status().message(), HasSubstr("--axis=one"));
  EXPECT_FALSE(args->GetBool("full_range").ok());
  EXPECT_FALSE(args->GetFloat("clip_min").ok());
  EXPECT_FALSE(args->GetDuration("timeout").ok());
}

TEST(CliArgsTest, DurationsTakeUnitsOrSeconds) {
  EXPECT_EQ(**Parse({"--timeout=1.5"})->GetDuration("timeout"), absl::Milliseconds(1500));
  EXPECT_EQ(**Parse({"--timeout=2m"})->GetDuration("timeout"), absl::Minutes(2));
}

TEST(EnumWordTest, MatchesValueNamesWithoutPrefixInAnyCase) {
  EXPECT_EQ(*ParseEnumWord<v1::DType>("int8"), v1::DTYPE_INT8);
  EXPECT_EQ(*ParseEnumWord<v1::DType>("FLOAT8_E4M3FN"), v1::DTYPE_FLOAT8_E4M3FN);
  EXPECT_EQ(*ParseEnumWord<v1::DType>("dtype_uint8"), v1::DTYPE_UINT8);
  EXPECT_EQ(*ParseEnumWord<v1::Granularity>("Per_Channel"), v1::GRANULARITY_PER_CHANNEL);
  EXPECT_EQ(*ParseEnumWord<v1::Rounding>("half_away_from_zero"), v1::ROUNDING_HALF_AWAY_FROM_ZERO);
  EXPECT_EQ(*ParseEnumWord<v1::RangeMethod>("absmax"), v1::RANGE_METHOD_ABSMAX);
}

TEST(EnumWordTest, RejectsUnspecifiedAndUnknownListingTheChoices) {
  EXPECT_FALSE(ParseEnumWord<v1::Scheme>("unspecified").ok());
  absl::StatusOr<v1::Scheme> scheme = ParseEnumWord<v1::Scheme>("sym");
  ASSERT_FALSE(scheme.ok());
  EXPECT_THAT(scheme.status().message(),
              HasSubstr("'sym' is not a Scheme; choose one of symmetric, asymmetric"));
}

TEST(EnumWordTest, WordsAreLowerCaseWithoutPrefix) {
  EXPECT_EQ(EnumWord(v1::DTYPE_BFLOAT16), "bfloat16");
  EXPECT_EQ(EnumWord(v1::GRANULARITY_PER_TENSOR), "per_tensor");
  EXPECT_EQ(EnumWord(static_cast<v1::DType>(77)), "77");
}

constexpr FlagSpec kQuantizeSpecs[] = {
    {"dtype", true},      {"scheme", true},      {"granularity", true}, {"axis", true},
    {"group_size", true}, {"full_range", false}, {"scale_dtype", true}, {"range_method", true},
    {"percentile", true}, {"clip_min", true},    {"clip_max", true},    {"rounding", true},
    {"seed", true},       {"params", true}};

absl::StatusOr<v1::QuantizeOptions> Options(std::vector<std::string> args) {
  absl::StatusOr<ParsedArgs> parsed = ParsedArgs::Parse(args, kQuantizeSpecs);
  if (!parsed.ok()) return parsed.status();
  return QuantizeOptionsFromArgs(*parsed);
}

TEST(QuantizeOptionsTest, DefaultsToInt8) {
  absl::StatusOr<v1::QuantizeOptions> options = Options({});
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->dtype(), v1::DTYPE_INT8);
  EXPECT_FALSE(options->has_clip_min());
  EXPECT_FALSE(options->has_params());
}

TEST(QuantizeOptionsTest, EveryFlagReachesItsField) {
  absl::StatusOr<v1::QuantizeOptions> options = Options(
      {"--dtype=uint8", "--scheme=asymmetric", "--granularity=per_channel", "--axis=-1",
       "--group_size=32", "--full_range", "--scale_dtype=float32", "--range_method=minmax",
       "--percentile=99.9", "--clip_min=-2", "--clip_max=3", "--rounding=floor", "--seed=7"});
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->dtype(), v1::DTYPE_UINT8);
  EXPECT_EQ(options->scheme(), v1::SCHEME_ASYMMETRIC);
  EXPECT_EQ(options->granularity(), v1::GRANULARITY_PER_CHANNEL);
  EXPECT_EQ(options->axis(), -1);
  EXPECT_EQ(options->group_size(), 32);
  EXPECT_TRUE(options->full_range());
  EXPECT_EQ(options->scale_dtype(), v1::DTYPE_FLOAT32);
  EXPECT_EQ(options->range_method(), v1::RANGE_METHOD_MINMAX);
  EXPECT_EQ(options->percentile(), 99.9);
  EXPECT_EQ(options->clip_min(), -2.0f);
  EXPECT_EQ(options->clip_max(), 3.0f);
  EXPECT_EQ(options->rounding(), v1::ROUNDING_FLOOR);
  EXPECT_EQ(options->seed(), 7u);
}

TEST(QuantizeOptionsTest, ParamsExcludeTargetFlags) {
  absl::StatusOr<v1::QuantizeOptions> options = Options({"--params=p.json", "--rounding=floor"});
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->dtype(), v1::DTYPE_UNSPECIFIED);
  EXPECT_THAT(Options({"--params=p.json", "--axis=1"}).status().message(),
              HasSubstr("--axis cannot be combined with --params"));
}

TEST(QuantizeOptionsTest, BadEnumNamesTheFlag) {
  EXPECT_THAT(Options({"--granularity=per_row"}).status().message(),
              HasSubstr("--granularity: 'per_row' is not a Granularity"));
}

TEST(ParamsPathTest, ReplacesTheNpySuffix) {
  EXPECT_EQ(ParamsPathFor("out/q.npy"), "out/q.params.json");
  EXPECT_EQ(ParamsPathFor("q"), "q.params.json");
}

TEST(ProtoJsonTest, ParamsRoundTripExactlyWithProtoNamesAndDefaults) {
  v1::QuantParams params;
  params.set_dtype(v1::DTYPE_INT8);
  params.set_granularity(v1::GRANULARITY_PER_CHANNEL);
  for (float scale : {0.1f, FLT_MIN, FLT_MAX, 1.0f / 3.0f, std::nextafter(1.0f, 2.0f)}) {
    params.add_scales(scale);
  }
  absl::StatusOr<std::string> json = MessageToJson(params);
  ASSERT_TRUE(json.ok()) << json.status();
  EXPECT_THAT(*json, HasSubstr("\"zero_points\""));
  EXPECT_THAT(*json, HasSubstr("\"full_range\": false"));
  EXPECT_THAT(*json, HasSubstr("\"dtype\": \"DTYPE_INT8\""));

  v1::QuantParams back;
  ASSERT_TRUE(MessageFromJson(*json, &back).ok());
  ASSERT_EQ(back.scales_size(), params.scales_size());
  for (int i = 0; i < params.scales_size(); ++i) {
    EXPECT_EQ(back.scales(i), params.scales(i)) << i;  // Bit-exact, not approximately.
  }
  EXPECT_EQ(back.SerializeAsString(), params.SerializeAsString());
}

TEST(ProtoJsonTest, UnknownFieldsAndBadJsonAreErrors) {
  v1::QuantParams params;
  EXPECT_FALSE(MessageFromJson("{\"scale\": [1.0]}", &params).ok());
  EXPECT_FALSE(MessageFromJson("{\"scales\": [1.0]", &params).ok());
  EXPECT_FALSE(MessageFromJson("{\"dtype\": \"DTYPE_INT9\"}", &params).ok());
}

TEST(StatusTest, GrpcCodesAndMessagesCarryOver) {
  EXPECT_TRUE(ToAbslStatus(grpc::Status::OK).ok());
  absl::Status status =
      ToAbslStatus(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "axis out of range"));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "axis out of range");
  EXPECT_EQ(ToAbslStatus(grpc::Status(grpc::StatusCode::UNAVAILABLE, "")).code(),
            absl::StatusCode::kUnavailable);
}

TEST(ClientTest, CreateChecksTheOptions) {
  ClientOptions options;
  EXPECT_TRUE(QuantdClient::Create(options).ok());
  options.target = "dns:///localhost:50051";
  EXPECT_TRUE(QuantdClient::Create(options).ok());
  options.max_message_bytes = int64_t{1} << 40;
  EXPECT_FALSE(QuantdClient::Create(options).ok());
  options.max_message_bytes = 1 << 20;
  options.timeout = absl::ZeroDuration();
  EXPECT_FALSE(QuantdClient::Create(options).ok());
  options.timeout = absl::Seconds(1);
  options.target = "";
  EXPECT_FALSE(QuantdClient::Create(options).ok());
}

struct CommandResult {
  int exit_code;
  std::string out;
  std::string err;
};

CommandResult Quantctl(std::vector<std::string> args) {
  std::ostringstream out, err;
  const int code = RunQuantctl(args, out, err);
  return {code, out.str(), err.str()};
}

TEST(QuantctlTest, HelpPrintsUsage) {
  for (const auto& args : {std::vector<std::string>{"--help"}, std::vector<std::string>{"help"},
                           std::vector<std::string>{"quantize", "-h"}}) {
    CommandResult run = Quantctl(args);
    EXPECT_EQ(run.exit_code, kExitOk);
    EXPECT_THAT(run.out, HasSubstr("Usage: quantctl"));
  }
}

TEST(QuantctlTest, UsageErrorsExit2) {
  EXPECT_EQ(Quantctl({}).exit_code, kExitUsage);
  CommandResult run = Quantctl({"frobnicate"});
  EXPECT_EQ(run.exit_code, kExitUsage);
  EXPECT_THAT(run.err, HasSubstr("unknown command 'frobnicate'"));
  run = Quantctl({"health", "--in=x.npy"});
  EXPECT_EQ(run.exit_code, kExitUsage);
  EXPECT_THAT(run.err, HasSubstr("--in does not apply to 'health'"));
  run = Quantctl({"quantize", "--out=q.npy"});
  EXPECT_EQ(run.exit_code, kExitUsage);
  EXPECT_THAT(run.err, HasSubstr("--in is required"));
  run = Quantctl({"quantize", "--in=x.npy", "--out=q.npy", "--dtype=int3"});
  EXPECT_EQ(run.exit_code, kExitUsage);
  EXPECT_THAT(run.err, HasSubstr("'int3' is not a DType"));
  EXPECT_EQ(Quantctl({"dequantize", "--in=q.npy", "--out=x.npy"}).exit_code, kExitUsage);
  EXPECT_EQ(Quantctl({"--max_message_bytes=0", "health"}).exit_code, kExitUsage);
  EXPECT_EQ(Quantctl({"health", "extra"}).exit_code, kExitUsage);
}

TEST(QuantctlTest, MissingInputFailsBeforeAnyCall) {
  // The target is unreachable: the error must come from the file.
  CommandResult run = Quantctl(
      {"--target=127.0.0.1:1", "quantize", "--in=/nonexistent/x.npy", "--out=/nonexistent/q.npy"});
  EXPECT_EQ(run.exit_code, kExitFailure);
  EXPECT_THAT(run.err, HasSubstr("quantctl: NOT_FOUND: /nonexistent/x.npy: cannot open"));
}

}  // namespace
}  // namespace quantd::client
