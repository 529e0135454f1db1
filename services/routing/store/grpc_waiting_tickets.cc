#include "services/routing/store/grpc_waiting_tickets.h"

#include "absl/strings/str_cat.h"
#include "libs/rpc/client.h"

namespace sundesk::routing {

TicketCopy TicketCopyFromProto(const ticket::v1::Ticket& t) {
  TicketCopy c;
  c.ticket_id = t.ticket_id();
  c.tenant_id = t.tenant_id();
  c.subject = t.subject();
  c.language = t.language();
  c.priority = t.priority();
  c.required_skills.assign(t.required_skills().begin(), t.required_skills().end());
  c.status = t.status();
  c.assignee_id = t.assignee_id();
  c.version = t.version();
  return c;
}

GrpcWaitingTickets::GrpcWaitingTickets(std::shared_ptr<grpc::Channel> channel,
                                       std::string service_key, absl::Duration timeout)
    : stub_(ticket::v1::TicketService::NewStub(std::move(channel))),
      service_key_(std::move(service_key)),
      timeout_(timeout) {}

absl::StatusOr<WaitingTicketsPage> GrpcWaitingTickets::List(absl::string_view page_token) {
  ticket::v1::ListTicketsRequest request;
  request.set_page_size(500);
  request.set_page_token(std::string(page_token));
  request.mutable_filter()->set_unassigned(true);
  ticket::v1::ListTicketsResponse response;
  const rpc::CallOptions options{.timeout = timeout_, .api_key = service_key_};
  grpc::Status st = rpc::CallWithRetry(options, {}, [&](grpc::ClientContext& ctx) {
    return stub_->ListTickets(&ctx, request, &response);
  });
  if (!st.ok()) {
    return absl::UnavailableError(
        absl::StrCat("ticket service: ListTickets: ", st.error_message()));
  }
  WaitingTicketsPage page;
  for (const auto& t : response.tickets()) page.tickets.push_back(TicketCopyFromProto(t));
  page.next_page_token = response.next_page_token();
  return page;
}

}  // namespace sundesk::routing
