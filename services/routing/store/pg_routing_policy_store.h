#pragma once

#include "absl/strings/string_view.h"
#include "libs/pg/pool.h"
#include "libs/pg/result.h"
#include "services/routing/domain/routing_policy.h"

namespace sundesk::routing {

// The columns of routing.routing_policies a policy is read from, and the policy of
// `tenant_id` from one row of them: for statements that read a tenant's policy beside
// something else in one round trip (PgOfferStore::Route).
inline constexpr absl::string_view kRoutingPolicyColumns =
    "overflow_stages, offer_timeout_ms, min_language_proficiency, version, update_time";
absl::StatusOr<StoredRoutingPolicy> RoutingPolicyFromRow(const pg::Result& r, int row,
                                                         absl::string_view tenant_id);

// Routing policies in PostgreSQL (routing.routing_policies). Thread-safe.
class PgRoutingPolicyStore final : public RoutingPolicyStore {
 public:
  explicit PgRoutingPolicyStore(pg::Pool& pool) : pool_(pool) {}

  absl::StatusOr<std::optional<StoredRoutingPolicy>> Get(absl::string_view tenant_id) override;
  absl::Status Put(const StoredRoutingPolicy& stored, int64_t expected_version) override;

 private:
  pg::Pool& pool_;
};

}  // namespace sundesk::routing
