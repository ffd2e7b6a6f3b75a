// Assembling and tearing down a quantd server.
#include "server/quantd_server.h"

#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <climits>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/impl/server_builder_option.h>
#include <grpcpp/impl/server_builder_plugin.h>
#include <grpcpp/server_builder.h>

#include "absl/strings/str_cat.h"
#include "kernels/kernels.h"
#include "quantd/status_macros.h"
#include "server/bearer_token.h"
#include "server/log.h"
#include "server/metrics_interceptor.h"
#include "server/server_limits.h"
#include "server/tls_credentials.h"

namespace quantd::server {
namespace {

constexpr char kQuantizerServiceName[] = "quantd.v1.Quantizer";

// Linking gRPC's reflection library registers its plugin in every
// ServerBuilder from a static initializer, so turning reflection off means
// taking the plugin out again.
class WithoutReflection : public grpc::ServerBuilderOption {
 public:
  void UpdateArguments(grpc::ChannelArguments*) override {}
  void UpdatePlugins(std::vector<std::unique_ptr<grpc::ServerBuilderPlugin>>* plugins) override {
    std::erase_if(*plugins, [](const auto& plugin) {
      return plugin->name() == "proto_server_reflection";
    });
  }
};

// Opens and at once closes a TCP connection to host:port; false when it
// cannot connect.
bool Knock(const std::string& host, int port) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found) != 0) return false;
  bool connected = false;
  for (addrinfo* a = found; a != nullptr && !connected; a = a->ai_next) {
    const int fd = socket(a->ai_family, a->ai_socktype, a->ai_protocol);
    if (fd < 0) continue;
    connected = connect(fd, a->ai_addr, a->ai_addrlen) == 0;
    close(fd);
  }
  freeaddrinfo(found);
  return connected;
}

// Where to reach a listener bound to `listen` (host:port) from this host:
// the wildcard addresses by loopback.
std::string ReachableHost(const std::string& listen) {
  std::string host = listen.substr(0, listen.rfind(':'));
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host.empty() || host == "0.0.0.0") return "127.0.0.1";
  if (host == "::") return "::1";
  return host;
}

// Stops the metrics endpoint. Its HTTP server (civetweb) polls its
// listening socket in 2-second quanta and its stop waits for the poll to
// return, so a stop would take up to 2 s: connections knocked on the port
// meanwhile (opened and closed at once) wake it.
void StopExposer(std::unique_ptr<prometheus::Exposer> exposer, const std::string& host, int port) {
  if (exposer == nullptr) return;
  std::atomic<bool> stopped{false};
  std::thread knocker([&stopped, &host, port] {
    while (!stopped.load() && Knock(host, port)) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });
  exposer.reset();
  stopped.store(true);
  knocker.join();
}

}  // namespace

absl::StatusOr<std::unique_ptr<QuantdServer>> QuantdServer::Start(const ServerOptions& options) {
  if (options.max_message_bytes <= 0 || options.max_message_bytes > INT_MAX) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--max_message_bytes = ", options.max_message_bytes, " must be in [1, ", INT_MAX, "]"));
  }
  if (options.threads < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("--threads = ", options.threads, " must be 0 (the cores) or positive"));
  }
  QUANTD_RETURN_IF_ERROR(ValidateLimits(options));
  if (options.idle_release_after < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(absl::StrCat("--idle_release_after = ",
                                                   absl::FormatDuration(options.idle_release_after),
                                                   " must be 0 (never) or positive"));
  }
  // Files are checked before any port is bound, so a bad one is the only
  // thing the start-up reports.
  const TlsFiles tls{options.tls_cert, options.tls_key, options.tls_client_ca};
  QUANTD_ASSIGN_OR_RETURN(std::shared_ptr<grpc::ServerCredentials> credentials,
                          MakeServerCredentials(tls));
  std::optional<BearerToken> token;
  if (!options.auth_token_file.empty()) {
    QUANTD_ASSIGN_OR_RETURN(token, BearerToken::FromFile(options.auth_token_file));
  }
  std::unique_ptr<QuantdServer> s(new QuantdServer());
  const int threads = options.threads > 0
                          ? options.threads
                          : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const int64_t max_pending =
      options.max_pending_tasks > 0 ? options.max_pending_tasks : int64_t{64} * threads;

  // The kernels are chosen once: built, supported by the CPU, allowed by --isa.
  const Isa isa = SelectKernels(options.max_isa).isa;
  s->metrics_ = std::make_unique<Metrics>(IsaName(isa));
  try {
    s->exposer_ = std::make_unique<prometheus::Exposer>(options.metrics_listen);
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat("cannot serve metrics on --metrics_listen=",
                                               options.metrics_listen, ": ", e.what()));
  }
  s->exposer_->RegisterCollectable(s->metrics_->registry());
  const std::vector<int> metric_ports = s->exposer_->GetListeningPorts();
  s->metrics_port_ = metric_ports.empty() ? 0 : metric_ports.front();
  s->metrics_host_ = ReachableHost(options.metrics_listen);

  s->pool_ = std::make_unique<KernelPool>(threads, max_pending);
  s->metrics_->pool_threads.Set(threads);
  s->service_ = std::make_unique<QuantizerService>(s->pool_.get(), isa, s->metrics_.get(),
                                                 options.max_buffer_bytes);
  s->gate_ = std::make_unique<CallGate>(CallLimitsOf(options), std::move(token), s->metrics_.get());
  s->gated_service_ = std::make_unique<GatedQuantizerService>(s->gate_.get(), s->service_.get());

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  if (!options.reflection) builder.SetOption(std::make_unique<WithoutReflection>());
  builder.AddListeningPort(options.listen, credentials, &s->grpc_port_);
  builder.RegisterService(s->gated_service_.get());
  builder.SetContextAllocator(s->gate_->NewContextAllocator());
  ApplyTransportLimits(options, &builder);
  builder.SetMaxReceiveMessageSize(static_cast<int>(options.max_message_bytes));
  builder.SetMaxSendMessageSize(static_cast<int>(options.max_message_bytes));
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> interceptors;
  interceptors.push_back(std::make_unique<MetricsInterceptorFactory>(s->metrics_.get()));
  builder.experimental().SetInterceptorCreators(std::move(interceptors));
  s->server_ = builder.BuildAndStart();
  if (s->server_ == nullptr || s->grpc_port_ == 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot serve gRPC on --listen=", options.listen));
  }
  if (options.idle_release_after > absl::ZeroDuration()) {
    CallGate* gate = s->gate_.get();
    s->idle_release_ = std::make_unique<IdleMemoryRelease>(
        options.idle_release_after, [gate] { return gate->calls_seen(); },
        [gate] { return gate->concurrent_rpcs(); });
  }
  grpc::HealthCheckServiceInterface* health = s->server_->GetHealthCheckService();
  health->SetServingStatus("", true);
  health->SetServingStatus(kQuantizerServiceName, true);
  Log(absl::StrCat("quantd: gRPC listening on port ", s->grpc_port_, " (", options.listen,
                   "), metrics on port ", s->metrics_port_, " (", options.metrics_listen,
                   "), ", threads, " kernel threads, kernels ", IsaName(isa), " (CPU supports ",
                   IsaName(DetectedIsa()), ")"));
  Log(absl::StrCat("quantd: gRPC over ", DescribeTransport(tls), "; bearer token ",
                   options.auth_token_file.empty() ? "not required" : "required",
                   " on quantd.v1.Quantizer; limits: ", DescribeLimits(options)));
  return s;
}

void QuantdServer::Drain(std::chrono::milliseconds grace) {
  if (drained_) return;
  drained_ = true;
  const auto deadline = std::chrono::system_clock::now() + grace;
  server_->GetHealthCheckService()->SetServingStatus(kQuantizerServiceName, false);
  // Stay open while the calls in flight finish: a call whose request is
  // still arriving reaches the gate and is refused with UNAVAILABLE, which
  // clients retry elsewhere. gRPC's Shutdown would cancel it instead
  // (CANCELLED, which they do not retry). Shut down once no call has been
  // running for a quiet spell, or at the deadline.
  gate_->StartDraining();
  constexpr auto kQuiet = std::chrono::milliseconds(500);
  auto idle_since = std::chrono::system_clock::now();
  while (std::chrono::system_clock::now() < deadline) {
    const auto now = std::chrono::system_clock::now();
    if (gate_->concurrent_rpcs() > 0) idle_since = now;
    if (now - idle_since >= kQuiet) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  server_->Shutdown(deadline);
  server_->Wait();
  pool_.reset();  // Joins the workers: every task has finished its RPC.
}

QuantdServer::~QuantdServer() {
  Drain(std::chrono::milliseconds(0));
  StopExposer(std::move(exposer_), metrics_host_, metrics_port_);
}

}  // namespace quantd::server
