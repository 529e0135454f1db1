#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "libs/core/clock.h"
#include "services/notification/domain/delivery.h"
#include "services/notification/domain/subscription_service.h"
#include "libs/api/page_token.h"

namespace sundesk::notification {

struct ListDeliveriesInput {
  std::string subscription_id;
  int state = 0;  // DeliveryState; 0 any
  std::string tenant_id;
  int64_t page_size = 0;
  std::string page_token;
};

struct ListDeliveriesOutput {
  std::vector<Delivery> deliveries;
  std::string next_page_token;
};

// The delivery log as the API shows it: a tenant's deliveries, newest first, and an
// ADMIN's redelivery of dead ones.
class DeliveryService {
 public:
  DeliveryService(DeliveryStore& store, SubscriptionService& subscriptions, const Clock& clock,
                  const api::PageTokenSigner& page_tokens)
      : store_(store), subscriptions_(subscriptions), clock_(clock), tokens_(page_tokens) {}

  absl::StatusOr<ListDeliveriesOutput> List(const Caller& caller, const ListDeliveriesInput& in);
  absl::StatusOr<Delivery> Redeliver(const Caller& caller, const std::string& delivery_id);

 private:
  DeliveryStore& store_;
  SubscriptionService& subscriptions_;
  const Clock& clock_;
  const api::PageTokenSigner& tokens_;
};

}  // namespace sundesk::notification
