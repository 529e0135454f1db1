#pragma once

#include "libs/rpc/auth.h"
#include "sundesk/routing/v1/routing_service.grpc.pb.h"

namespace sundesk::routing {

// What the routing-server binary serves as sundesk.routing.v1.RoutingService until the whole
// service is built (offers: AgentSession, AcceptOffer, RejectOffer): every RPC
// authenticates the caller and answers UNIMPLEMENTED, as the stack's contract test expects
// of a service that is not complete. RoutingServiceHandlers holds the RPCs built so far,
// tested in-process; main.cc switches to it when the rest lands.
class UnimplementedRoutingService final
    : public ::sundesk::routing::v1::RoutingService::CallbackService {
 public:
  explicit UnimplementedRoutingService(const rpc::Authenticator& authenticator)
      : auth_(authenticator) {}

  grpc::ServerBidiReactor<::sundesk::routing::v1::AgentMessage,
                          ::sundesk::routing::v1::RoutingMessage>*
  AgentSession(grpc::CallbackServerContext* context) override;
  grpc::ServerUnaryReactor* SetPresence(grpc::CallbackServerContext* context,
                                        const ::sundesk::routing::v1::SetPresenceRequest* request,
                                        ::sundesk::routing::v1::Presence* response) override;
  grpc::ServerUnaryReactor* GetPresence(grpc::CallbackServerContext* context,
                                        const ::sundesk::routing::v1::GetPresenceRequest* request,
                                        ::sundesk::routing::v1::Presence* response) override;
  grpc::ServerUnaryReactor* AcceptOffer(
      grpc::CallbackServerContext* context,
      const ::sundesk::routing::v1::AcceptOfferRequest* request,
      ::sundesk::routing::v1::AcceptOfferResponse* response) override;
  grpc::ServerUnaryReactor* RejectOffer(
      grpc::CallbackServerContext* context,
      const ::sundesk::routing::v1::RejectOfferRequest* request,
      ::sundesk::routing::v1::RejectOfferResponse* response) override;
  grpc::ServerUnaryReactor* GetRoutingPolicy(
      grpc::CallbackServerContext* context,
      const ::sundesk::routing::v1::GetRoutingPolicyRequest* request,
      ::sundesk::routing::v1::RoutingPolicy* response) override;
  grpc::ServerUnaryReactor* UpdateRoutingPolicy(
      grpc::CallbackServerContext* context,
      const ::sundesk::routing::v1::UpdateRoutingPolicyRequest* request,
      ::sundesk::routing::v1::RoutingPolicy* response) override;
  grpc::ServerUnaryReactor* ListQueue(grpc::CallbackServerContext* context,
                                      const ::sundesk::routing::v1::ListQueueRequest* request,
                                      ::sundesk::routing::v1::ListQueueResponse* response) override;

 private:
  const rpc::Authenticator& auth_;
};

}  // namespace sundesk::routing
