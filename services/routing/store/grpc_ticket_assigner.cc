#include "services/routing/store/grpc_ticket_assigner.h"

#include "absl/strings/str_cat.h"
#include "libs/rpc/client.h"

namespace sundesk::routing {

GrpcTicketAssigner::GrpcTicketAssigner(std::shared_ptr<grpc::Channel> channel,
                                       std::string service_key, absl::Duration timeout)
    : stub_(ticket::v1::TicketService::NewStub(std::move(channel))),
      service_key_(std::move(service_key)),
      timeout_(timeout) {}

absl::StatusOr<int64_t> GrpcTicketAssigner::Assign(absl::string_view ticket_id,
                                                   absl::string_view agent_id,
                                                   absl::string_view offer_id, int stage) {
  ticket::v1::AssignTicketRequest request;
  request.set_ticket_id(std::string(ticket_id));
  request.set_agent_id(std::string(agent_id));
  request.set_offer_id(std::string(offer_id));
  request.set_routing_stage(stage);
  ticket::v1::Ticket ticket;
  const rpc::CallOptions options{.timeout = timeout_, .api_key = service_key_};
  // Assigning to the current assignee changes nothing, so a retry is safe.
  grpc::Status st = rpc::CallWithRetry(options, {}, [&](grpc::ClientContext& ctx) {
    return stub_->AssignTicket(&ctx, request, &ticket);
  });
  switch (st.error_code()) {
    case grpc::StatusCode::OK:
      return ticket.version();
    case grpc::StatusCode::NOT_FOUND:
      return absl::NotFoundError(
          absl::StrCat("ticket service: AssignTicket: ", st.error_message()));
    case grpc::StatusCode::FAILED_PRECONDITION:
    case grpc::StatusCode::ABORTED:
      return absl::FailedPreconditionError(
          absl::StrCat("ticket service: AssignTicket: ", st.error_message()));
    default:
      return absl::UnavailableError(
          absl::StrCat("ticket service: AssignTicket: ", st.error_message()));
  }
}

}  // namespace sundesk::routing
