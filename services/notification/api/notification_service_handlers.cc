#include "services/notification/api/notification_service_handlers.h"

#include "libs/rpc/handler.h"

namespace sundesk::notification {

grpc::ServerUnaryReactor* NotificationServiceHandlers::CreateSubscription(
    grpc::CallbackServerContext* context,
    const ::sundesk::notification::v1::CreateSubscriptionRequest* request,
    ::sundesk::notification::v1::Subscription* response) {
  return rpc::NotImplementedUnary(context, auth_,
                                  "sundesk.notification.v1.NotificationService/CreateSubscription");
}

grpc::ServerUnaryReactor* NotificationServiceHandlers::ListSubscriptions(
    grpc::CallbackServerContext* context,
    const ::sundesk::notification::v1::ListSubscriptionsRequest* request,
    ::sundesk::notification::v1::ListSubscriptionsResponse* response) {
  return rpc::NotImplementedUnary(context, auth_,
                                  "sundesk.notification.v1.NotificationService/ListSubscriptions");
}

grpc::ServerUnaryReactor* NotificationServiceHandlers::DeleteSubscription(
    grpc::CallbackServerContext* context,
    const ::sundesk::notification::v1::DeleteSubscriptionRequest* request,
    ::google::protobuf::Empty* response) {
  return rpc::NotImplementedUnary(context, auth_,
                                  "sundesk.notification.v1.NotificationService/DeleteSubscription");
}

grpc::ServerUnaryReactor* NotificationServiceHandlers::ListDeliveries(
    grpc::CallbackServerContext* context,
    const ::sundesk::notification::v1::ListDeliveriesRequest* request,
    ::sundesk::notification::v1::ListDeliveriesResponse* response) {
  return rpc::NotImplementedUnary(context, auth_,
                                  "sundesk.notification.v1.NotificationService/ListDeliveries");
}

grpc::ServerWriteReactor<::sundesk::events::v1::Event>* NotificationServiceHandlers::StreamEvents(
    grpc::CallbackServerContext* context,
    const ::sundesk::notification::v1::StreamEventsRequest* request) {
  return new rpc::FinishedWriteReactor<::sundesk::events::v1::Event>(rpc::NotImplementedStatus(
      *context, auth_, "sundesk.notification.v1.NotificationService/StreamEvents"));
}

}  // namespace sundesk::notification
