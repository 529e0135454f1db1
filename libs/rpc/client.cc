#include "libs/rpc/client.h"

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"

namespace sundesk::rpc {
namespace {

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::InvalidArgumentError(absl::StrCat("cannot read '", path, "'"));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

absl::Time ParentDeadline(const grpc::ServerContextBase* parent) {
  if (parent == nullptr) return absl::InfiniteFuture();
  auto d = parent->deadline();
  if (d == std::chrono::system_clock::time_point::max()) return absl::InfiniteFuture();
  return absl::FromChrono(d);
}

}  // namespace

absl::StatusOr<std::shared_ptr<grpc::Channel>> MakeChannel(const ChannelOptions& options) {
  std::shared_ptr<grpc::ChannelCredentials> creds;
  if (options.ca_file.empty()) {
    creds = grpc::InsecureChannelCredentials();
  } else {
    grpc::SslCredentialsOptions ssl;
    auto ca = ReadFile(options.ca_file);
    if (!ca.ok()) return ca.status();
    ssl.pem_root_certs = *ca;
    if (!options.cert_file.empty()) {
      auto cert = ReadFile(options.cert_file);
      if (!cert.ok()) return cert.status();
      auto key = ReadFile(options.key_file);
      if (!key.ok()) return key.status();
      ssl.pem_cert_chain = *cert;
      ssl.pem_private_key = *key;
    }
    creds = grpc::SslCredentials(ssl);
  }
  grpc::ChannelArguments args;
  // Fail fast instead of hanging on a peer that vanished.
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 30'000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 10'000);
  return grpc::CreateCustomChannel(options.target, creds, args);
}

std::unique_ptr<grpc::ClientContext> NewClientContext(const CallOptions& options) {
  std::unique_ptr<grpc::ClientContext> ctx;
  if (options.parent != nullptr) {
    ctx = grpc::ClientContext::FromServerContext(*options.parent);
  } else {
    ctx = std::make_unique<grpc::ClientContext>();
  }
  absl::Time deadline = std::min(absl::Now() + options.timeout, ParentDeadline(options.parent));
  ctx->set_deadline(absl::ToChronoTime(deadline));
  if (!options.api_key.empty()) ctx->AddMetadata("authorization", "Bearer " + options.api_key);
  return ctx;
}

grpc::Status CallWithRetry(const CallOptions& options, const RetryPolicy& policy,
                           const std::function<grpc::Status(grpc::ClientContext&)>& attempt) {
  absl::Time deadline = std::min(absl::Now() + options.timeout, ParentDeadline(options.parent));
  thread_local std::mt19937_64 rng{std::random_device{}()};
  absl::Duration backoff = policy.initial_backoff;
  grpc::Status status;
  for (int i = 1;; ++i) {
    CallOptions this_call = options;
    this_call.timeout = deadline - absl::Now();
    auto ctx = NewClientContext(this_call);
    status = attempt(*ctx);
    if (status.error_code() != grpc::StatusCode::UNAVAILABLE || i >= policy.max_attempts) {
      return status;
    }
    // Full jitter: spreads the retries of many callers after a shared outage.
    std::uniform_int_distribution<int64_t> dist(0, absl::ToInt64Microseconds(backoff));
    absl::Duration sleep = absl::Microseconds(dist(rng));
    if (absl::Now() + sleep >= deadline) return status;
    std::this_thread::sleep_for(absl::ToChronoNanoseconds(sleep));
    backoff = std::min(backoff * 2, policy.max_backoff);
  }
}

}  // namespace sundesk::rpc
