#pragma once

#include "libs/pg/pool.h"
#include "services/notification/domain/subscription.h"

namespace sundesk::notification {

// Subscriptions in PostgreSQL schema `notification`.
class PgSubscriptionStore final : public SubscriptionStore {
 public:
  explicit PgSubscriptionStore(pg::Pool& pool) : pool_(pool) {}

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

 private:
  pg::Pool& pool_;
};

// A PostgreSQL text[] literal of names that need no quoting (event type names) and back.
std::string TextArray(const std::vector<std::string>& names);
std::vector<std::string> ParseTextArray(absl::string_view literal);

}  // namespace sundesk::notification
