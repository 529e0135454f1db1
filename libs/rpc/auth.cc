#include "libs/rpc/auth.h"

#include <openssl/crypto.h>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace sundesk::rpc {

absl::string_view RoleName(Role role) {
  switch (role) {
    case Role::kAdmin:
      return "ADMIN";
    case Role::kClient:
      return "CLIENT";
    case Role::kAgent:
      return "AGENT";
    case Role::kService:
      return "SERVICE";
  }
  return "UNKNOWN";
}

void StaticKeyAuthenticator::Add(const std::string& api_key, Principal principal) {
  if (!api_key.empty()) keys_[api_key] = std::move(principal);
}

absl::StatusOr<Principal> StaticKeyAuthenticator::Resolve(absl::string_view api_key) const {
  // Walk every key with a constant-time compare, so timing tells nothing about a prefix.
  const Principal* found = nullptr;
  for (const auto& [key, principal] : keys_) {
    if (key.size() == api_key.size() &&
        CRYPTO_memcmp(key.data(), api_key.data(), key.size()) == 0) {
      found = &principal;
    }
  }
  if (found == nullptr) return absl::UnauthenticatedError("unknown API key");
  return *found;
}

absl::StatusOr<Principal> ChainAuthenticator::Resolve(absl::string_view api_key) const {
  absl::Status last = absl::UnauthenticatedError("unknown API key");
  for (const Authenticator* authenticator : chain_) {
    absl::StatusOr<Principal> principal = authenticator->Resolve(api_key);
    if (principal.ok() || !absl::IsUnauthenticated(principal.status())) return principal;
    last = principal.status();
  }
  return last;
}

absl::StatusOr<std::string> BearerKey(const grpc::ServerContextBase& context) {
  const auto& md = context.client_metadata();
  auto it = md.find("authorization");
  if (it == md.end()) {
    return absl::UnauthenticatedError(
        "missing 'authorization' metadata: expected 'Bearer <api key>'");
  }
  absl::string_view value(it->second.data(), it->second.size());
  constexpr absl::string_view kScheme = "bearer ";
  if (value.size() <= kScheme.size() ||
      !absl::EqualsIgnoreCase(value.substr(0, kScheme.size()), kScheme)) {
    return absl::UnauthenticatedError(
        "malformed 'authorization' metadata: expected 'Bearer <api key>'");
  }
  return std::string(absl::StripAsciiWhitespace(value.substr(kScheme.size())));
}

absl::StatusOr<Principal> Authenticate(const grpc::ServerContextBase& context,
                                       const Authenticator& authenticator) {
  absl::StatusOr<std::string> key = BearerKey(context);
  if (!key.ok()) return key.status();
  return authenticator.Resolve(*key);
}

absl::Status RequireRole(const Principal& principal, std::initializer_list<Role> allowed) {
  for (Role r : allowed) {
    if (principal.role == r) return absl::OkStatus();
  }
  std::vector<std::string> names;
  for (Role r : allowed) names.emplace_back(RoleName(r));
  return absl::PermissionDeniedError(absl::StrCat(
      "role ", RoleName(principal.role), " may not do this; needs ", absl::StrJoin(names, " or ")));
}

Caller ToCaller(const Principal& p) {
  CallerRole role = CallerRole::kClient;
  switch (p.role) {
    case Role::kAdmin:
      role = CallerRole::kAdmin;
      break;
    case Role::kClient:
      role = CallerRole::kClient;
      break;
    case Role::kAgent:
      role = CallerRole::kAgent;
      break;
    case Role::kService:
      role = CallerRole::kService;
      break;
  }
  return {.role = role, .tenant_id = p.tenant_id, .agent_id = p.agent_id, .key_id = p.key_id};
}

}  // namespace sundesk::rpc
