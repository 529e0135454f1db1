#include "services/routing/api/unimplemented_routing_service.h"

#include "libs/rpc/handler.h"

namespace sundesk::routing {

grpc::ServerBidiReactor<::sundesk::routing::v1::AgentMessage,
                        ::sundesk::routing::v1::RoutingMessage>*
UnimplementedRoutingService::AgentSession(grpc::CallbackServerContext* context) {
  return new rpc::FinishedBidiReactor<::sundesk::routing::v1::AgentMessage,
                                      ::sundesk::routing::v1::RoutingMessage>(
      rpc::NotImplementedStatus(*context, auth_, "sundesk.routing.v1.RoutingService/AgentSession"));
}

grpc::ServerUnaryReactor* UnimplementedRoutingService::SetPresence(
    grpc::CallbackServerContext* context, const ::sundesk::routing::v1::SetPresenceRequest* request,
    ::sundesk::routing::v1::Presence* response) {
  return rpc::NotImplementedUnary(context, auth_, "sundesk.routing.v1.RoutingService/SetPresence");
}

grpc::ServerUnaryReactor* UnimplementedRoutingService::GetPresence(
    grpc::CallbackServerContext* context, const ::sundesk::routing::v1::GetPresenceRequest* request,
    ::sundesk::routing::v1::Presence* response) {
  return rpc::NotImplementedUnary(context, auth_, "sundesk.routing.v1.RoutingService/GetPresence");
}

grpc::ServerUnaryReactor* UnimplementedRoutingService::AcceptOffer(
    grpc::CallbackServerContext* context, const ::sundesk::routing::v1::AcceptOfferRequest* request,
    ::sundesk::routing::v1::AcceptOfferResponse* response) {
  return rpc::NotImplementedUnary(context, auth_, "sundesk.routing.v1.RoutingService/AcceptOffer");
}

grpc::ServerUnaryReactor* UnimplementedRoutingService::RejectOffer(
    grpc::CallbackServerContext* context, const ::sundesk::routing::v1::RejectOfferRequest* request,
    ::sundesk::routing::v1::RejectOfferResponse* response) {
  return rpc::NotImplementedUnary(context, auth_, "sundesk.routing.v1.RoutingService/RejectOffer");
}

grpc::ServerUnaryReactor* UnimplementedRoutingService::GetRoutingPolicy(
    grpc::CallbackServerContext* context,
    const ::sundesk::routing::v1::GetRoutingPolicyRequest* request,
    ::sundesk::routing::v1::RoutingPolicy* response) {
  return rpc::NotImplementedUnary(context, auth_,
                                  "sundesk.routing.v1.RoutingService/GetRoutingPolicy");
}

grpc::ServerUnaryReactor* UnimplementedRoutingService::UpdateRoutingPolicy(
    grpc::CallbackServerContext* context,
    const ::sundesk::routing::v1::UpdateRoutingPolicyRequest* request,
    ::sundesk::routing::v1::RoutingPolicy* response) {
  return rpc::NotImplementedUnary(context, auth_,
                                  "sundesk.routing.v1.RoutingService/UpdateRoutingPolicy");
}

grpc::ServerUnaryReactor* UnimplementedRoutingService::ListQueue(
    grpc::CallbackServerContext* context, const ::sundesk::routing::v1::ListQueueRequest* request,
    ::sundesk::routing::v1::ListQueueResponse* response) {
  return rpc::NotImplementedUnary(context, auth_, "sundesk.routing.v1.RoutingService/ListQueue");
}

}  // namespace sundesk::routing
