#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "libs/core/clock.h"
#include "services/routing/domain/matching.h"

namespace sundesk::routing {

inline constexpr size_t kMaxOverflowStages = 8;
inline constexpr absl::Duration kMinOfferTimeout = absl::Seconds(5);
inline constexpr absl::Duration kMaxOfferTimeout = absl::Hours(1);

// What routing needs to know of a client company (owned by the ticket service).
struct TenantInfo {
  std::string tenant_id;
  std::vector<std::string> languages;
  std::string guidelines;
  bool auto_assign = false;  // ROUTING_MODE_AUTO_ASSIGN; else offers
};

// Where tenants are looked up (the ticket service over gRPC in production).
class TenantDirectory {
 public:
  virtual ~TenantDirectory() = default;
  // NOT_FOUND for an unknown tenant; UNAVAILABLE when the owner cannot be asked.
  virtual absl::StatusOr<TenantInfo> GetTenant(absl::string_view tenant_id) = 0;
};

// A policy as stored: version 0 means the default (never updated).
struct StoredRoutingPolicy {
  RoutingPolicy policy;
  int64_t version = 0;
  absl::Time update_time = absl::InfinitePast();
};

std::string PolicyEtag(const StoredRoutingPolicy& stored);  // "" for the default

class RoutingPolicyStore {
 public:
  virtual ~RoutingPolicyStore() = default;
  // The tenant's policy, or nullopt when it was never updated.
  virtual absl::StatusOr<std::optional<StoredRoutingPolicy>> Get(absl::string_view tenant_id) = 0;
  // Stores `stored` (its version already bumped) if the stored version is still
  // `expected_version` (0: none stored yet); else ABORTED.
  virtual absl::Status Put(const StoredRoutingPolicy& stored, int64_t expected_version) = 0;
};

// Every check of a policy's fields, naming them under "routing_policy.".
absl::Status ValidateRoutingPolicy(const RoutingPolicy& policy);

// Tenants' routing policies: the default until updated, validation, etags.
class RoutingPolicies {
 public:
  RoutingPolicies(RoutingPolicyStore& store, TenantDirectory& tenants, const Clock& clock)
      : store_(store), tenants_(tenants), clock_(clock) {}

  // NOT_FOUND for a tenant the ticket service does not know.
  absl::StatusOr<StoredRoutingPolicy> Get(absl::string_view tenant_id);
  // Copies the fields named in `update_mask` (overflow_stages, offer_timeout,
  // min_language_proficiency) from `changes` onto the tenant's policy.
  absl::StatusOr<StoredRoutingPolicy> Update(const RoutingPolicy& changes,
                                             const std::vector<std::string>& update_mask,
                                             absl::string_view etag);

 private:
  absl::StatusOr<StoredRoutingPolicy> Current(absl::string_view tenant_id);

  RoutingPolicyStore& store_;
  TenantDirectory& tenants_;
  const Clock& clock_;
};

}  // namespace sundesk::routing
