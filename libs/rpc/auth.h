#pragma once

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "grpcpp/server_context.h"
#include "libs/core/caller.h"

namespace sundesk::rpc {

// Who is calling. The tenant of every query comes from here, never from a request body.
enum class Role { kAdmin, kClient, kAgent, kService };

struct Principal {
  Role role = Role::kClient;
  std::string tenant_id;  // set for CLIENT keys
  std::string agent_id;   // set for AGENT keys
  std::string key_id;     // which key, for audit trails and logs (never the secret)
};

absl::string_view RoleName(Role role);

// Resolves an API key (the secret after "Bearer ") into a principal. Implementations must
// answer UNAUTHENTICATED for unknown or revoked keys, UNAVAILABLE when they cannot tell.
class Authenticator {
 public:
  virtual ~Authenticator() = default;
  virtual absl::StatusOr<Principal> Resolve(absl::string_view api_key) const = 0;
};

// Keys known from configuration: the bootstrap admin key (SUNDESK_ADMIN_KEY) and the
// service-to-service key (SUNDESK_SERVICE_KEY). Compared in constant time.
class StaticKeyAuthenticator final : public Authenticator {
 public:
  // Empty keys are ignored (an empty bearer never authenticates).
  void Add(const std::string& api_key, Principal principal);
  absl::StatusOr<Principal> Resolve(absl::string_view api_key) const override;

 private:
  std::map<std::string, Principal> keys_;
};

// Tries authenticators in order: the first that knows the key wins. UNAUTHENTICATED from
// one passes the key on to the next; any other error (UNAVAILABLE: a database is down)
// stops there, so an outage is never reported as a bad key. Typical chain: the static
// configured keys first (no I/O), then the keys in the database.
class ChainAuthenticator final : public Authenticator {
 public:
  // The authenticators must outlive the chain.
  explicit ChainAuthenticator(std::vector<const Authenticator*> chain) : chain_(std::move(chain)) {}
  absl::StatusOr<Principal> Resolve(absl::string_view api_key) const override;

 private:
  std::vector<const Authenticator*> chain_;
};

// The key of `authorization: Bearer <key>` on the call; UNAUTHENTICATED when it is missing
// or malformed. For code that resolves the key later (e.g. off the call's thread).
absl::StatusOr<std::string> BearerKey(const grpc::ServerContextBase& context);

// Reads `authorization: Bearer <key>` from the call and resolves it.
// No or malformed metadata, or an unknown key, answers UNAUTHENTICATED.
absl::StatusOr<Principal> Authenticate(const grpc::ServerContextBase& context,
                                       const Authenticator& authenticator);

// The principal as a domain Caller (libs/core/caller.h).
Caller ToCaller(const Principal& principal);

// PERMISSION_DENIED unless the principal has one of `allowed`.
absl::Status RequireRole(const Principal& principal, std::initializer_list<Role> allowed);

}  // namespace sundesk::rpc
