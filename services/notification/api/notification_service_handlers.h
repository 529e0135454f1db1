#pragma once

#include "libs/rpc/auth.h"
#include "sundesk/notification/v1/notification_service.grpc.pb.h"

namespace sundesk::notification {

// gRPC handlers of sundesk.notification.v1.NotificationService: translate proto <-> domain and
// nothing more. Until the notification service's own issue lands, every RPC authenticates the
// caller and answers UNIMPLEMENTED.
class NotificationServiceHandlers final
    : public ::sundesk::notification::v1::NotificationService::CallbackService {
 public:
  explicit NotificationServiceHandlers(const rpc::Authenticator& authenticator)
      : auth_(authenticator) {}

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
  grpc::ServerWriteReactor<::sundesk::events::v1::Event>* StreamEvents(
      grpc::CallbackServerContext* context,
      const ::sundesk::notification::v1::StreamEventsRequest* request) override;

 private:
  const rpc::Authenticator& auth_;
};

}  // namespace sundesk::notification
