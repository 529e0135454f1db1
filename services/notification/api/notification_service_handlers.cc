#include "services/notification/api/notification_service_handlers.h"

#include "google/protobuf/util/time_util.h"
#include "libs/core/status.h"
#include "libs/rpc/handler.h"
#include "libs/rpc/status.h"
#include "services/notification/domain/event_types.h"

namespace sundesk::notification {

namespace pb = ::sundesk::notification::v1;

pb::Subscription SubscriptionToProto(const Subscription& s) {
  pb::Subscription out;
  out.set_subscription_id(s.subscription_id);
  out.set_tenant_id(s.tenant_id);
  for (const auto& t : s.event_types) out.add_event_types(t);
  if (s.channel == ChannelKind::kWebhook) {
    out.mutable_webhook()->set_url(s.target);  // the secret is input only
  } else {
    out.mutable_email()->set_address(s.target);
  }
  out.set_display_name(s.display_name);
  *out.mutable_create_time() =
      google::protobuf::util::TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(s.create_time));
  return out;
}

namespace {

google::protobuf::Timestamp ToTimestamp(absl::Time t) {
  return google::protobuf::util::TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(t));
}

}  // namespace

pb::Delivery DeliveryToProto(const Delivery& d) {
  pb::Delivery out;
  out.set_delivery_id(d.delivery_id);
  out.set_subscription_id(d.subscription_id);
  out.set_tenant_id(d.tenant_id);
  out.set_event_id(d.event_id);
  out.set_event_type(d.event_type);
  out.set_state(static_cast<pb::DeliveryState>(d.state));
  out.set_attempts(d.attempts);
  out.set_last_error(d.last_error);
  out.set_last_http_status(d.last_http_status);
  *out.mutable_create_time() = ToTimestamp(d.create_time);
  if (d.last_attempt_time) *out.mutable_last_attempt_time() = ToTimestamp(*d.last_attempt_time);
  if (d.state == DeliveryState::kRetrying && d.next_attempt_time) {
    *out.mutable_next_attempt_time() = ToTimestamp(*d.next_attempt_time);
  }
  if (d.deliver_time) *out.mutable_deliver_time() = ToTimestamp(*d.deliver_time);
  return out;
}

grpc::ServerUnaryReactor* NotificationServiceHandlers::CreateSubscription(
    grpc::CallbackServerContext* context, const pb::CreateSubscriptionRequest* request,
    pb::Subscription* response) {
  return rpc::BlockingUnary(
      workers_, context, auth_, [this, request, response](const rpc::Principal& p) -> absl::Status {
        const pb::CreateSubscriptionRequest& r = *request;
        CreateSubscriptionInput in{
            .request_id = r.request_id(),
            .tenant_id = r.tenant_id(),
            .event_types = {r.event_types().begin(), r.event_types().end()},
            .has_webhook = r.has_webhook(),
            .has_email = r.has_email(),
            .webhook_url = r.webhook().url(),
            .webhook_secret = r.webhook().secret(),
            .email_address = r.email().address(),
            .display_name = r.display_name(),
        };
        SUNDESK_ASSIGN_OR_RETURN(Subscription s, subscriptions_.Create(ToCaller(p), in));
        *response = SubscriptionToProto(s);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* NotificationServiceHandlers::ListSubscriptions(
    grpc::CallbackServerContext* context, const pb::ListSubscriptionsRequest* request,
    pb::ListSubscriptionsResponse* response) {
  return rpc::BlockingUnary(
      workers_, context, auth_, [this, request, response](const rpc::Principal& p) -> absl::Status {
        SUNDESK_ASSIGN_OR_RETURN(ListSubscriptionsOutput out,
                                 subscriptions_.List(ToCaller(p), request->tenant_id(),
                                                     request->page_size(), request->page_token()));
        for (const Subscription& s : out.subscriptions) {
          *response->add_subscriptions() = SubscriptionToProto(s);
        }
        response->set_next_page_token(out.next_page_token);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* NotificationServiceHandlers::DeleteSubscription(
    grpc::CallbackServerContext* context, const pb::DeleteSubscriptionRequest* request,
    ::google::protobuf::Empty* response) {
  return rpc::BlockingUnary(workers_, context, auth_,
                            [this, request, response](const rpc::Principal& p) -> absl::Status {
                              return subscriptions_.Delete(ToCaller(p), request->subscription_id());
                            });
}

grpc::ServerUnaryReactor* NotificationServiceHandlers::ListDeliveries(
    grpc::CallbackServerContext* context, const pb::ListDeliveriesRequest* request,
    pb::ListDeliveriesResponse* response) {
  return rpc::BlockingUnary(
      workers_, context, auth_, [this, request, response](const rpc::Principal& p) -> absl::Status {
        ListDeliveriesInput in{.subscription_id = request->subscription_id(),
                               .state = static_cast<int>(request->state()),
                               .tenant_id = request->tenant_id(),
                               .page_size = request->page_size(),
                               .page_token = request->page_token()};
        SUNDESK_ASSIGN_OR_RETURN(ListDeliveriesOutput out, deliveries_.List(ToCaller(p), in));
        for (const Delivery& d : out.deliveries) *response->add_deliveries() = DeliveryToProto(d);
        response->set_next_page_token(out.next_page_token);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* NotificationServiceHandlers::RedeliverDelivery(
    grpc::CallbackServerContext* context, const pb::RedeliverDeliveryRequest* request,
    pb::Delivery* response) {
  return rpc::BlockingUnary(
      workers_, context, auth_, [this, request, response](const rpc::Principal& p) -> absl::Status {
        SUNDESK_ASSIGN_OR_RETURN(Delivery d,
                                 deliveries_.Redeliver(ToCaller(p), request->delivery_id()));
        *response = DeliveryToProto(d);
        return absl::OkStatus();
      });
}

grpc::ServerWriteReactor<::sundesk::events::v1::Event>* NotificationServiceHandlers::StreamEvents(
    grpc::CallbackServerContext* context, const pb::StreamEventsRequest* request) {
  using Finished = rpc::FinishedWriteReactor<::sundesk::events::v1::Event>;
  absl::StatusOr<rpc::Principal> principal = rpc::Authenticate(*context, auth_);
  if (!principal.ok()) return new Finished(rpc::ToGrpcStatus(principal.status()));
  std::vector<std::string> types(request->event_types().begin(), request->event_types().end());
  if (absl::Status st = CheckEventTypes("event_types", types); !st.ok()) {
    return new Finished(rpc::ToGrpcStatus(st));
  }
  // The tenant check (the ticket service, when not cached) and the cursor lookup
  // (PostgreSQL) block: they run on the worker pool. The request is gone once the call is,
  // so what they need is copied.
  auto resolve = [this, caller = ToCaller(*principal), tenant_id = request->tenant_id(),
                  cursor = request->after_cursor()]() -> absl::StatusOr<EventStreams::Start> {
    SUNDESK_ASSIGN_OR_RETURN(std::string tenant, subscriptions_.Tenant(caller, tenant_id));
    if (cursor.empty()) {
      SUNDESK_ASSIGN_OR_RETURN(int64_t head, feed_.Head(tenant));  // from now on
      return EventStreams::Start{.tenant_id = std::move(tenant), .after = head};
    }
    SUNDESK_ASSIGN_OR_RETURN(std::optional<int64_t> position, feed_.PositionOf(tenant, cursor));
    if (!position.has_value()) {
      return absl::FailedPreconditionError(
          "after_cursor: unknown, or older than the retained feed; resynchronise and start "
          "without a cursor");
    }
    return EventStreams::Start{.tenant_id = std::move(tenant), .after = *position};
  };
  return streams_.Open(context, std::move(types), workers_, std::move(resolve));
}

}  // namespace sundesk::notification
