#pragma once

#include <memory>

#include "libs/core/worker_pool.h"
#include "libs/rpc/auth.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/registry.h"
#include "services/ticket/domain/ticket_service.h"
#include "sundesk/ticket/v1/ticket_service.grpc.pb.h"

namespace sundesk::ticket {

// sundesk_tickets_created_total{channel,priority}, sundesk_ticket_transitions_total{from,to}
// and sundesk_idempotent_replays_total, fed by the domain.
class TicketMetrics final : public TicketObserver {
 public:
  explicit TicketMetrics(prometheus::Registry& registry);
  void TicketCreated(Channel channel, Priority priority) override;
  void StatusChanged(TicketStatus from, TicketStatus to) override;
  void IdempotentReplay() override;

 private:
  prometheus::Family<prometheus::Counter>& created_;
  prometheus::Family<prometheus::Counter>& transitions_;
  prometheus::Counter& replays_;
};

// gRPC handlers of sundesk.ticket.v1.TicketService: translate proto <-> domain and nothing
// more.
class TicketServiceHandlers final : public ::sundesk::ticket::v1::TicketService::CallbackService {
 public:
  // Handlers run on `workers` (null: on gRPC's threads).
  TicketServiceHandlers(const rpc::Authenticator& authenticator, TicketService& tickets,
                        WorkerPool* workers = nullptr)
      : auth_(authenticator), tickets_(tickets), workers_(workers) {}

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
  TicketService& tickets_;
  WorkerPool* workers_;
};

}  // namespace sundesk::ticket
