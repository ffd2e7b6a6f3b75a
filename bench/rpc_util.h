// What the RPC load generators share: channels to the server, float
// payloads, latency percentiles.
#ifndef QUANTD_BENCH_RPC_UTIL_H_
#define QUANTD_BENCH_RPC_UTIL_H_

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

namespace quantd::bench {

// A plaintext channel without message size limits (the server enforces its
// own). Channels with different `connection` numbers do not share a
// connection: gRPC reuses one subchannel for channels of equal arguments,
// so each caller of a load generator that should look like a separate
// client gets a number of its own.
inline std::shared_ptr<grpc::Channel> LoadChannel(const std::string& target, int connection = 0) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(-1);
  args.SetMaxSendMessageSize(-1);
  args.SetInt("quantd.bench.connection", connection);
  return grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
}

// `bytes` / 4 normal float32 values as little-endian bytes, the same every run.
inline std::string FloatPayload(int64_t bytes) {
  std::mt19937 rng(1);
  std::normal_distribution<float> normal;
  std::string data(bytes / 4 * 4, '\0');
  for (size_t i = 0; i < data.size(); i += 4) {
    const float v = normal(rng);
    std::memcpy(data.data() + i, &v, 4);
  }
  return data;
}

// The p-quantile (p in [0, 1]) of ascending `sorted`; 0 when empty.
inline double Percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  const size_t index = std::min(sorted.size() - 1, static_cast<size_t>(p * sorted.size()));
  return sorted[index];
}

}  // namespace quantd::bench

#endif  // QUANTD_BENCH_RPC_UTIL_H_
