#pragma once

#include "libs/rpc/auth.h"
#include "sundesk/ticket/v1/ticket_service.grpc.pb.h"

namespace sundesk::ticket {

// gRPC handlers of sundesk.ticket.v1.TicketService: translate proto <-> domain and nothing more.
// Until the ticket service's own issue lands, every RPC authenticates the caller and
// answers UNIMPLEMENTED.
class TicketServiceHandlers final : public ::sundesk::ticket::v1::TicketService::CallbackService {
 public:
  explicit TicketServiceHandlers(const rpc::Authenticator& authenticator) : auth_(authenticator) {}

  grpc::ServerUnaryReactor* CreateTicket(grpc::CallbackServerContext* context,
                                         const ::sundesk::ticket::v1::CreateTicketRequest* request,
                                         ::sundesk::ticket::v1::Ticket* response) override;
  grpc::ServerUnaryReactor* GetTicket(grpc::CallbackServerContext* context,
                                      const ::sundesk::ticket::v1::GetTicketRequest* request,
                                      ::sundesk::ticket::v1::Ticket* response) override;
  grpc::ServerUnaryReactor* ListTickets(
      grpc::CallbackServerContext* context,
      const ::sundesk::ticket::v1::ListTicketsRequest* request,
      ::sundesk::ticket::v1::ListTicketsResponse* response) override;
  grpc::ServerUnaryReactor* UpdateTicket(grpc::CallbackServerContext* context,
                                         const ::sundesk::ticket::v1::UpdateTicketRequest* request,
                                         ::sundesk::ticket::v1::Ticket* response) override;
  grpc::ServerUnaryReactor* TransitionTicket(
      grpc::CallbackServerContext* context,
      const ::sundesk::ticket::v1::TransitionTicketRequest* request,
      ::sundesk::ticket::v1::Ticket* response) override;
  grpc::ServerUnaryReactor* AssignTicket(grpc::CallbackServerContext* context,
                                         const ::sundesk::ticket::v1::AssignTicketRequest* request,
                                         ::sundesk::ticket::v1::Ticket* response) override;
  grpc::ServerUnaryReactor* UnassignTicket(
      grpc::CallbackServerContext* context,
      const ::sundesk::ticket::v1::UnassignTicketRequest* request,
      ::sundesk::ticket::v1::Ticket* response) override;
  grpc::ServerUnaryReactor* AddComment(grpc::CallbackServerContext* context,
                                       const ::sundesk::ticket::v1::AddCommentRequest* request,
                                       ::sundesk::ticket::v1::Comment* response) override;
  grpc::ServerUnaryReactor* ListComments(
      grpc::CallbackServerContext* context,
      const ::sundesk::ticket::v1::ListCommentsRequest* request,
      ::sundesk::ticket::v1::ListCommentsResponse* response) override;
  grpc::ServerUnaryReactor* GetTicketHistory(
      grpc::CallbackServerContext* context,
      const ::sundesk::ticket::v1::GetTicketHistoryRequest* request,
      ::sundesk::ticket::v1::GetTicketHistoryResponse* response) override;

 private:
  const rpc::Authenticator& auth_;
};

}  // namespace sundesk::ticket
