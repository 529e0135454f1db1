#include "services/routing/store/grpc_ticket_assigner.h"

#include "absl/strings/str_cat.h"
#include "libs/rpc/client.h"

namespace sundesk::routing {
namespace {

// Reads and conditional assignments tried before giving up on a ticket that keeps changing.
constexpr int kAttempts = 5;

absl::Status FromGrpc(const grpc::Status& st, absl::string_view what) {
  const std::string message = absl::StrCat("ticket service: ", what, ": ", st.error_message());
  switch (st.error_code()) {
    case grpc::StatusCode::OK:
      return absl::OkStatus();
    case grpc::StatusCode::NOT_FOUND:
      return absl::NotFoundError(message);
    case grpc::StatusCode::FAILED_PRECONDITION:
      return absl::FailedPreconditionError(message);
    case grpc::StatusCode::ABORTED:
      return absl::AbortedError(message);
    default:
      return absl::UnavailableError(message);
  }
}

}  // namespace

GrpcTicketAssigner::GrpcTicketAssigner(std::shared_ptr<grpc::Channel> channel,
                                       std::string service_key, absl::Duration timeout)
    : stub_(ticket::v1::TicketService::NewStub(std::move(channel))),
      service_key_(std::move(service_key)),
      timeout_(timeout) {}

absl::StatusOr<ticket::v1::Ticket> GrpcTicketAssigner::Read(absl::string_view ticket_id) {
  ticket::v1::GetTicketRequest request;
  request.set_ticket_id(std::string(ticket_id));
  ticket::v1::Ticket ticket;
  const rpc::CallOptions options{.timeout = timeout_, .api_key = service_key_};
  grpc::Status st = rpc::CallWithRetry(options, {}, [&](grpc::ClientContext& ctx) {
    return stub_->GetTicket(&ctx, request, &ticket);
  });
  if (!st.ok()) return FromGrpc(st, "GetTicket");
  if (ticket.status() == ticket::v1::TICKET_STATUS_SOLVED ||
      ticket.status() == ticket::v1::TICKET_STATUS_CLOSED) {
    return absl::FailedPreconditionError(
        absl::StrCat("ticket service: ticket ", ticket_id, " is solved or closed"));
  }
  return ticket;
}

absl::StatusOr<TicketAssignment> GrpcTicketAssigner::Current(absl::string_view ticket_id) {
  absl::StatusOr<ticket::v1::Ticket> t = Read(ticket_id);
  if (!t.ok()) return t.status();
  return TicketAssignment{.assignee_id = t->assignee_id(), .version = t->version()};
}

absl::StatusOr<TicketAssignment> GrpcTicketAssigner::Assign(absl::string_view ticket_id,
                                                            absl::string_view agent_id,
                                                            absl::string_view offer_id, int stage) {
  const rpc::CallOptions options{.timeout = timeout_, .api_key = service_key_};
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    absl::StatusOr<ticket::v1::Ticket> current = Read(ticket_id);
    if (!current.ok()) return current.status();
    // Already this agent's (a retried accept), or someone else's: nothing to assign.
    if (!current->assignee_id().empty()) {
      return TicketAssignment{.assignee_id = current->assignee_id(), .version = current->version()};
    }
    ticket::v1::AssignTicketRequest request;
    request.set_ticket_id(std::string(ticket_id));
    request.set_agent_id(std::string(agent_id));
    request.set_etag(current->etag());
    request.set_offer_id(std::string(offer_id));
    request.set_routing_stage(stage);
    ticket::v1::Ticket ticket;
    // A retry after a lost answer finds the etag stale (ABORTED) and reads again, which
    // shows the agent as the assignee.
    grpc::Status st = rpc::CallWithRetry(options, {}, [&](grpc::ClientContext& ctx) {
      return stub_->AssignTicket(&ctx, request, &ticket);
    });
    if (st.ok()) {
      return TicketAssignment{.assignee_id = ticket.assignee_id(), .version = ticket.version()};
    }
    if (st.error_code() != grpc::StatusCode::ABORTED) return FromGrpc(st, "AssignTicket");
  }
  return absl::UnavailableError(
      absl::StrCat("ticket service: ticket ", ticket_id, " kept changing while being assigned"));
}

}  // namespace sundesk::routing
