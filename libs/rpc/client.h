#pragma once

#include <functional>
#include <memory>
#include <random>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/channel.h"
#include "grpcpp/client_context.h"
#include "grpcpp/server_context.h"

namespace sundesk::rpc {

struct ChannelOptions {
  std::string target;     // host:port, or any gRPC target URI
  std::string ca_file;    // PEM CA to verify the server; TLS is on when set
  std::string cert_file;  // PEM client certificate for mTLS
  std::string key_file;   // PEM client key for mTLS
};

absl::StatusOr<std::shared_ptr<grpc::Channel>> MakeChannel(const ChannelOptions& options);

struct CallOptions {
  absl::Duration timeout = absl::Seconds(5);
  std::string api_key;  // sent as `authorization: Bearer <key>` when set
  // The call being served, when this call is made on its behalf: its deadline and
  // cancellation carry over, and the shorter of the two deadlines wins.
  const grpc::ServerContextBase* parent = nullptr;
};

// A fresh context for one attempt (gRPC contexts are single-use).
std::unique_ptr<grpc::ClientContext> NewClientContext(const CallOptions& options);

struct RetryPolicy {
  int max_attempts = 4;
  absl::Duration initial_backoff = absl::Milliseconds(50);
  absl::Duration max_backoff = absl::Seconds(1);
};

// Calls `attempt(context)` until it returns anything but UNAVAILABLE, the attempts run
// out, or the overall deadline (options.timeout, or the parent's) would pass during the
// backoff. Only UNAVAILABLE is retried: it means the request was not processed, so a
// retry cannot apply a write twice (writes carry request_id besides).
grpc::Status CallWithRetry(const CallOptions& options, const RetryPolicy& policy,
                           const std::function<grpc::Status(grpc::ClientContext&)>& attempt);

}  // namespace sundesk::rpc
