#pragma once

#include "libs/core/worker_pool.h"
#include "libs/rpc/auth.h"
#include "services/notification/api/event_streams.h"
#include "services/notification/domain/delivery_service.h"
#include "services/notification/domain/subscription_service.h"
#include "sundesk/notification/v1/notification_service.grpc.pb.h"

namespace sundesk::notification {

// gRPC handlers of sundesk.notification.v1.NotificationService: authenticate, translate
// proto <-> domain, call one domain method.
class NotificationServiceHandlers final
    : public ::sundesk::notification::v1::NotificationService::CallbackService {
 public:
  NotificationServiceHandlers(const rpc::Authenticator& authenticator,
                              SubscriptionService& subscriptions, DeliveryService& deliveries,
                              PgEventFeed& feed, EventStreams& streams,
                              WorkerPool* workers = nullptr)
      : auth_(authenticator),
        subscriptions_(subscriptions),
        deliveries_(deliveries),
        feed_(feed),
        streams_(streams),
        workers_(workers) {}

  grpc::ServerUnaryReactor* CreateSubscription(
      grpc::CallbackServerContext* context,
      const ::sundesk::notification::v1::CreateSubscriptionRequest* request,
      ::sundesk::notification::v1::Subscription* response) override;
  grpc::ServerUnaryReactor* ListSubscriptions(
      grpc::CallbackServerContext* context,
      const ::sundesk::notification::v1::ListSubscriptionsRequest* request,
      ::sundesk::notification::v1::ListSubscriptionsResponse* response) override;
  grpc::ServerUnaryReactor* DeleteSubscription(
      grpc::CallbackServerContext* context,
      const ::sundesk::notification::v1::DeleteSubscriptionRequest* request,
      ::google::protobuf::Empty* response) override;
  grpc::ServerUnaryReactor* ListDeliveries(
      grpc::CallbackServerContext* context,
      const ::sundesk::notification::v1::ListDeliveriesRequest* request,
      ::sundesk::notification::v1::ListDeliveriesResponse* response) override;
  grpc::ServerUnaryReactor* RedeliverDelivery(
      grpc::CallbackServerContext* context,
      const ::sundesk::notification::v1::RedeliverDeliveryRequest* request,
      ::sundesk::notification::v1::Delivery* response) override;
  grpc::ServerWriteReactor<::sundesk::events::v1::Event>* StreamEvents(
      grpc::CallbackServerContext* context,
      const ::sundesk::notification::v1::StreamEventsRequest* request) override;

 private:
  const rpc::Authenticator& auth_;
  SubscriptionService& subscriptions_;
  DeliveryService& deliveries_;
  PgEventFeed& feed_;
  EventStreams& streams_;
  WorkerPool* workers_;  // where the (blocking) unary handlers run; null: gRPC's threads
};

// The caller as the domain sees it (libs/rpc/auth.h).
using rpc::ToCaller;

// The API form of a subscription: the webhook secret is never included.
::sundesk::notification::v1::Subscription SubscriptionToProto(const Subscription& s);
::sundesk::notification::v1::Delivery DeliveryToProto(const Delivery& d);

}  // namespace sundesk::notification
