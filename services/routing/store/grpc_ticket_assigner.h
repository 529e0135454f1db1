#pragma once

#include <memory>
#include <string>

#include "absl/time/time.h"
#include "grpcpp/channel.h"
#include "services/routing/domain/offers.h"
#include "sundesk/ticket/v1/ticket_service.grpc.pb.h"

namespace sundesk::routing {

// Assignments through the ticket service's TicketService.AssignTicket with routing's SERVICE
// key, carrying the accepted offer and the stage it matched at. Never takes a ticket over:
// it reads the ticket first (GetTicket) and assigns with the etag it read, so an assignment
// made meanwhile (by hand, say) makes the call ABORTED, and the ticket is read again.
// Thread-safe.
class GrpcTicketAssigner final : public TicketAssigner {
 public:
  GrpcTicketAssigner(std::shared_ptr<grpc::Channel> channel, std::string service_key,
                     absl::Duration timeout = absl::Seconds(5));

  absl::StatusOr<TicketAssignment> Assign(absl::string_view ticket_id, absl::string_view agent_id,
                                          absl::string_view offer_id, int stage) override;
  absl::StatusOr<TicketAssignment> Current(absl::string_view ticket_id) override;

 private:
  // The ticket as the ticket service has it; FAILED_PRECONDITION when solved or closed.
  absl::StatusOr<ticket::v1::Ticket> Read(absl::string_view ticket_id);

  std::unique_ptr<ticket::v1::TicketService::Stub> stub_;
  const std::string service_key_;
  const absl::Duration timeout_;
};

}  // namespace sundesk::routing
