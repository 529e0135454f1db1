#pragma once

#include "libs/pg/pool.h"
#include "services/notification/domain/subscription.h"
#include "services/notification/store/secret_box.h"

namespace sundesk::notification {

// Subscriptions in PostgreSQL schema `notification`. With `secrets`, webhook secrets are
// stored sealed (AES-256-GCM); without, as given (tests, and stacks without keys). Rows
// read back never carry the secret: only PgDeliveryStore::ClaimDue opens it, to sign.
class PgSubscriptionStore final : public SubscriptionStore {
 public:
  explicit PgSubscriptionStore(pg::Pool& pool, const SecretBox* secrets = nullptr)
      : pool_(pool), secrets_(secrets) {}

  absl::StatusOr<StoredSubscription> CreateSubscription(
      const Subscription& subscription, const std::optional<CreateRecord>& record) override;
  absl::StatusOr<std::vector<Subscription>> ListSubscriptions(const std::string& tenant_id,
                                                              const std::string& after_id,
                                                              int limit) override;
  absl::StatusOr<std::optional<Subscription>> GetSubscription(
      const std::string& subscription_id) override;
  absl::StatusOr<bool> DeleteSubscription(const std::string& tenant_id,
                                          const std::string& subscription_id,
                                          absl::Time now) override;

  // Start-up migration and key rotation: seals every webhook secret that is still plain
  // or sealed under a key other than the box's current one, and clears the plain column.
  // Returns how many were resealed; FAILED_PRECONDITION when a row's key is not in `box`.
  absl::StatusOr<int> ResealSecrets(const SecretBox& box);
  // Key ids that seal at least one webhook secret, for a check at start-up.
  absl::StatusOr<std::vector<std::string>> SecretKeyIdsInUse();

 private:
  pg::Pool& pool_;
  const SecretBox* secrets_;
};

}  // namespace sundesk::notification
