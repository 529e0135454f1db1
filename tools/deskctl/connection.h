#pragma once

#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "grpcpp/channel.h"
#include "grpcpp/client_context.h"
#include "tools/deskctl/options.h"

namespace sundesk::deskctl {

// The channel to one server plus what every call on it carries: the API key and deadline.
class Connection {
 public:
  // Reads the PEM files named in `options`; plaintext unless a --tls option is given.
  static absl::StatusOr<std::unique_ptr<Connection>> Open(const Options& options);

  const std::shared_ptr<grpc::Channel>& channel() const { return channel_; }

  // Adds the API key and, when `with_deadline` and --timeout is not 0, the deadline.
  void Prepare(grpc::ClientContext& context, bool with_deadline) const;

 private:
  Connection(const Options& options, std::shared_ptr<grpc::Channel> channel)
      : options_(options), channel_(std::move(channel)) {}

  Options options_;
  std::shared_ptr<grpc::Channel> channel_;
};

absl::Status FromGrpc(const grpc::Status& status);

}  // namespace sundesk::deskctl
