#include "libs/runtime/issued_keys.h"

#include <openssl/sha.h>

#include <cstdio>
#include <cstdlib>
#include <utility>

#include "libs/rpc/client.h"
#include "libs/rpc/status.h"
#include "sundesk/ticket/v1/tenant_service.grpc.pb.h"

namespace sundesk::runtime {
namespace {

constexpr size_t kMaxRemembered = 100'000;

std::string Sha256(absl::string_view s) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(s.data()), s.size(), digest);
  return std::string(reinterpret_cast<const char*>(digest), sizeof(digest));
}

absl::StatusOr<rpc::Role> FromProtoRole(common::v1::Role role) {
  switch (role) {
    case common::v1::ROLE_ADMIN:
      return rpc::Role::kAdmin;
    case common::v1::ROLE_CLIENT:
      return rpc::Role::kClient;
    case common::v1::ROLE_AGENT:
      return rpc::Role::kAgent;
    case common::v1::ROLE_SERVICE:
      return rpc::Role::kService;
    default:
      return absl::UnavailableError("ticket service answered WhoAmI without a role");
  }
}

}  // namespace

ConfigOption TicketAddrOption() {
  return {"ticket-addr", "127.0.0.1:50051",
          "the ticket service: checks API keys it issued, takes assignments"};
}

std::shared_ptr<grpc::Channel> TicketChannelOrExit(const Config& config) {
  auto channel = rpc::MakeChannel({.target = config.Get("ticket-addr")});
  if (!channel.ok()) {
    std::fprintf(stderr, "--ticket-addr (SUNDESK_TICKET_ADDR): %s\n",
                 std::string(channel.status().message()).c_str());
    std::exit(2);
  }
  return *channel;
}

IssuedKeyAuthenticator::IssuedKeyAuthenticator(std::shared_ptr<grpc::Channel> ticket,
                                               const Clock& clock, absl::Duration ttl)
    : ticket_(std::move(ticket)), clock_(clock), ttl_(ttl) {}

absl::StatusOr<rpc::Principal> IssuedKeyAuthenticator::Resolve(absl::string_view api_key) const {
  if (api_key.empty()) return absl::UnauthenticatedError("empty API key");
  const std::string digest = Sha256(api_key);
  const absl::Time now = clock_.Now();
  {
    absl::MutexLock lock(&mu_);
    auto it = cache_.find(digest);
    if (it != cache_.end() && now < it->second.until) return it->second.answer;
  }

  auto stub = ticket::v1::TenantService::NewStub(ticket_);
  auto ctx = rpc::NewClientContext({.timeout = absl::Seconds(2), .api_key = std::string(api_key)});
  ticket::v1::WhoAmIResponse who;
  grpc::Status st = stub->WhoAmI(ctx.get(), ticket::v1::WhoAmIRequest(), &who);
  absl::StatusOr<rpc::Principal> answer;
  if (st.ok()) {
    absl::StatusOr<rpc::Role> role = FromProtoRole(who.role());
    if (!role.ok()) return role.status();
    answer = rpc::Principal{.role = *role,
                            .tenant_id = who.tenant_id(),
                            .agent_id = who.agent_id(),
                            .key_id = who.key_id()};
  } else if (st.error_code() == grpc::StatusCode::UNAUTHENTICATED) {
    answer = absl::UnauthenticatedError("unknown, revoked or expired API key");
  } else {
    // Not remembered: the next call asks again.
    return absl::UnavailableError(
        absl::StrCat("cannot check the API key with the ticket service: ", st.error_message()));
  }
  absl::MutexLock lock(&mu_);
  if (cache_.size() >= kMaxRemembered) cache_.clear();
  cache_[digest] = {.answer = answer, .until = now + ttl_};
  return answer;
}

}  // namespace sundesk::runtime
