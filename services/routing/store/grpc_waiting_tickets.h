#pragma once

#include <memory>
#include <string>

#include "absl/time/time.h"
#include "grpcpp/channel.h"
#include "services/routing/domain/reconcile.h"
#include "sundesk/ticket/v1/ticket_service.grpc.pb.h"

namespace sundesk::routing {

// The ticket as routing's queue keeps it.
TicketCopy TicketCopyFromProto(const ticket::v1::Ticket& t);

// TicketService.ListTickets(filter.unassigned) with routing's SERVICE key, 500 a page.
// Thread-safe.
class GrpcWaitingTickets final : public WaitingTickets {
 public:
  GrpcWaitingTickets(std::shared_ptr<grpc::Channel> channel, std::string service_key,
                     absl::Duration timeout = absl::Seconds(10));

  absl::StatusOr<WaitingTicketsPage> List(absl::string_view page_token) override;

 private:
  std::unique_ptr<ticket::v1::TicketService::Stub> stub_;
  const std::string service_key_;
  const absl::Duration timeout_;
};

}  // namespace sundesk::routing
