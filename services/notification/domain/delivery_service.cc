#include "services/notification/domain/delivery_service.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "libs/core/ids.h"
#include "libs/core/status.h"
#include "libs/api/validation.h"

namespace sundesk::notification {
namespace {

absl::Status DeliveryNotFound(const std::string& id) {
  return absl::NotFoundError(absl::StrCat("delivery \"", absl::CEscape(id), "\" not found"));
}

}  // namespace

absl::StatusOr<ListDeliveriesOutput> DeliveryService::List(const Caller& caller,
                                                           const ListDeliveriesInput& in) {
  std::string tenant;
  if (!in.subscription_id.empty()) {
    SUNDESK_ASSIGN_OR_RETURN(Subscription s, subscriptions_.Visible(caller, in.subscription_id));
    if (!in.tenant_id.empty() && in.tenant_id != s.tenant_id) {
      return SubscriptionNotFound(in.subscription_id);
    }
    tenant = s.tenant_id;
  } else {
    SUNDESK_ASSIGN_OR_RETURN(tenant, subscriptions_.Tenant(caller, in.tenant_id));
  }
  if (in.state < 0 || in.state > static_cast<int>(DeliveryState::kDead)) {
    return absl::InvalidArgumentError("state: not a DeliveryState");
  }
  SUNDESK_ASSIGN_OR_RETURN(int limit, api::ResolvePageSize("page_size", in.page_size));
  const std::string query = absl::StrCat("deliveries|", in.subscription_id, "|", in.state);
  ListDeliveriesQuery q{.tenant_id = tenant,
                        .subscription_id = in.subscription_id,
                        .state = static_cast<DeliveryState>(in.state),
                        .before_id = "",
                        .limit = limit + 1};
  if (!in.page_token.empty()) {
    SUNDESK_ASSIGN_OR_RETURN(q.before_id,
                             tokens_.Verify("page_token", tenant, query, in.page_token));
  }
  SUNDESK_ASSIGN_OR_RETURN(std::vector<Delivery> rows, store_.ListDeliveries(q));
  ListDeliveriesOutput out;
  if (static_cast<int>(rows.size()) > limit) {
    rows.resize(limit);
    out.next_page_token = tokens_.Sign(tenant, query, rows.back().delivery_id);
  }
  out.deliveries = std::move(rows);
  return out;
}

absl::StatusOr<Delivery> DeliveryService::Redeliver(const Caller& caller,
                                                    const std::string& delivery_id) {
  if (caller.role != CallerRole::kAdmin) {
    return absl::PermissionDeniedError("redelivering needs an ADMIN key");
  }
  if (delivery_id.empty()) return absl::InvalidArgumentError("delivery_id: must not be empty");
  if (!IsUuid(delivery_id)) return DeliveryNotFound(delivery_id);
  SUNDESK_ASSIGN_OR_RETURN(std::optional<Delivery> current, store_.GetDelivery(delivery_id));
  if (!current) return DeliveryNotFound(delivery_id);
  if (current->state != DeliveryState::kDead) {
    return absl::FailedPreconditionError(absl::StrCat(
        "delivery ", delivery_id, " is not dead-lettered; only those are redelivered"));
  }
  SUNDESK_ASSIGN_OR_RETURN(std::optional<Delivery> again,
                           store_.Redeliver(delivery_id, clock_.Now()));
  if (!again) {
    return absl::FailedPreconditionError(absl::StrCat(
        "delivery ", delivery_id, " cannot be redelivered: its subscription was deleted"));
  }
  return *std::move(again);
}

}  // namespace sundesk::notification
