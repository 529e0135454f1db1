#pragma once

#include <memory>
#include <string>

#include "absl/time/time.h"
#include "grpcpp/channel.h"
#include "services/routing/domain/offers.h"
#include "sundesk/ticket/v1/ticket_service.grpc.pb.h"

namespace sundesk::routing {

// Assignments through the ticket service's TicketService.AssignTicket with routing's SERVICE
// key, carrying the accepted offer and the stage it matched at. Thread-safe.
class GrpcTicketAssigner final : public TicketAssigner {
 public:
  GrpcTicketAssigner(std::shared_ptr<grpc::Channel> channel, std::string service_key,
                     absl::Duration timeout = absl::Seconds(5));

  absl::StatusOr<int64_t> Assign(absl::string_view ticket_id, absl::string_view agent_id,
                                 absl::string_view offer_id, int stage) override;

 private:
  std::unique_ptr<ticket::v1::TicketService::Stub> stub_;
  const std::string service_key_;
  const absl::Duration timeout_;
};

}  // namespace sundesk::routing
