#pragma once

#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpcpp/channel.h"
#include "libs/core/clock.h"
#include "libs/core/config.h"
#include "libs/rpc/auth.h"

namespace sundesk::runtime {

// --ticket-addr: where the ticket service answers (issued keys, assignments).
ConfigOption TicketAddrOption();
// A channel to --ticket-addr (connects lazily); exits 2 when the address is malformed.
std::shared_ptr<grpc::Channel> TicketChannelOrExit(const Config& config);

// The API keys the ticket service issued (TenantService.CreateApiKey), accepted by any
// service: a presented key is resolved by calling TenantService.WhoAmI with it, and the
// answer (a principal, or "unknown key") is remembered for `ttl`, so that a revoked key is
// refused everywhere within `ttl`. The ticket service being unreachable is UNAVAILABLE,
// never "bad key". Keys are remembered by their SHA-256, not in the clear.
//
//   runtime::IssuedKeyAuthenticator issued(ticket_channel, clock);
//   rpc::ChainAuthenticator auth({&service->authenticator(), &issued});
class IssuedKeyAuthenticator final : public rpc::Authenticator {
 public:
  IssuedKeyAuthenticator(std::shared_ptr<grpc::Channel> ticket, const Clock& clock,
                         absl::Duration ttl = absl::Seconds(1));
  absl::StatusOr<rpc::Principal> Resolve(absl::string_view api_key) const override;

 private:
  struct Remembered {
    absl::StatusOr<rpc::Principal> answer;
    absl::Time until;
  };

  std::shared_ptr<grpc::Channel> ticket_;
  const Clock& clock_;
  const absl::Duration ttl_;
  mutable absl::Mutex mu_;
  mutable absl::flat_hash_map<std::string, Remembered> cache_ ABSL_GUARDED_BY(mu_);
};

}  // namespace sundesk::runtime
