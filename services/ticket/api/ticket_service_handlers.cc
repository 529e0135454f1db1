#include "services/ticket/api/ticket_service_handlers.h"

#include "libs/rpc/handler.h"

namespace sundesk::ticket {

grpc::ServerUnaryReactor* TicketServiceHandlers::CreateTicket(
    grpc::CallbackServerContext* context, const ::sundesk::ticket::v1::CreateTicketRequest* request,
    ::sundesk::ticket::v1::Ticket* response) {
  return rpc::NotImplementedUnary(context, auth_, "sundesk.ticket.v1.TicketService/CreateTicket");
}

grpc::ServerUnaryReactor* TicketServiceHandlers::GetTicket(
    grpc::CallbackServerContext* context, const ::sundesk::ticket::v1::GetTicketRequest* request,
    ::sundesk::ticket::v1::Ticket* response) {
  return rpc::NotImplementedUnary(context, auth_, "sundesk.ticket.v1.TicketService/GetTicket");
}

grpc::ServerUnaryReactor* TicketServiceHandlers::ListTickets(
    grpc::CallbackServerContext* context, const ::sundesk::ticket::v1::ListTicketsRequest* request,
    ::sundesk::ticket::v1::ListTicketsResponse* response) {
  return rpc::NotImplementedUnary(context, auth_, "sundesk.ticket.v1.TicketService/ListTickets");
}

grpc::ServerUnaryReactor* TicketServiceHandlers::UpdateTicket(
    grpc::CallbackServerContext* context, const ::sundesk::ticket::v1::UpdateTicketRequest* request,
    ::sundesk::ticket::v1::Ticket* response) {
  return rpc::NotImplementedUnary(context, auth_, "sundesk.ticket.v1.TicketService/UpdateTicket");
}

grpc::ServerUnaryReactor* TicketServiceHandlers::TransitionTicket(
    grpc::CallbackServerContext* context,
    const ::sundesk::ticket::v1::TransitionTicketRequest* request,
    ::sundesk::ticket::v1::Ticket* response) {
  return rpc::NotImplementedUnary(context, auth_,
                                  "sundesk.ticket.v1.TicketService/TransitionTicket");
}

grpc::ServerUnaryReactor* TicketServiceHandlers::AssignTicket(
    grpc::CallbackServerContext* context, const ::sundesk::ticket::v1::AssignTicketRequest* request,
    ::sundesk::ticket::v1::Ticket* response) {
  return rpc::NotImplementedUnary(context, auth_, "sundesk.ticket.v1.TicketService/AssignTicket");
}

grpc::ServerUnaryReactor* TicketServiceHandlers::UnassignTicket(
    grpc::CallbackServerContext* context,
    const ::sundesk::ticket::v1::UnassignTicketRequest* request,
    ::sundesk::ticket::v1::Ticket* response) {
  return rpc::NotImplementedUnary(context, auth_, "sundesk.ticket.v1.TicketService/UnassignTicket");
}

grpc::ServerUnaryReactor* TicketServiceHandlers::AddComment(
    grpc::CallbackServerContext* context, const ::sundesk::ticket::v1::AddCommentRequest* request,
    ::sundesk::ticket::v1::Comment* response) {
  return rpc::NotImplementedUnary(context, auth_, "sundesk.ticket.v1.TicketService/AddComment");
}

grpc::ServerUnaryReactor* TicketServiceHandlers::ListComments(
    grpc::CallbackServerContext* context, const ::sundesk::ticket::v1::ListCommentsRequest* request,
    ::sundesk::ticket::v1::ListCommentsResponse* response) {
  return rpc::NotImplementedUnary(context, auth_, "sundesk.ticket.v1.TicketService/ListComments");
}

grpc::ServerUnaryReactor* TicketServiceHandlers::GetTicketHistory(
    grpc::CallbackServerContext* context,
    const ::sundesk::ticket::v1::GetTicketHistoryRequest* request,
    ::sundesk::ticket::v1::GetTicketHistoryResponse* response) {
  return rpc::NotImplementedUnary(context, auth_,
                                  "sundesk.ticket.v1.TicketService/GetTicketHistory");
}

}  // namespace sundesk::ticket
