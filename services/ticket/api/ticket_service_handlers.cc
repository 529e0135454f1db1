#include "services/ticket/api/ticket_service_handlers.h"

#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "libs/core/status.h"
#include "libs/rpc/handler.h"
#include "services/ticket/store/ticket_proto.h"

namespace sundesk::ticket {
namespace {

namespace pb = ::sundesk::ticket::v1;

using rpc::ToCaller;

absl::Time FromTimestamp(const google::protobuf::Timestamp& ts) {
  return absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
}

// "PRIORITY_HIGH" -> "high", for metric labels.
std::string Label(const std::string& enum_name, absl::string_view prefix) {
  absl::string_view s = enum_name;
  if (absl::StartsWith(s, prefix)) s.remove_prefix(prefix.size());
  return absl::AsciiStrToLower(s);
}

}  // namespace

TicketMetrics::TicketMetrics(prometheus::Registry& registry)
    : created_(prometheus::BuildCounter()
                   .Name("sundesk_tickets_created_total")
                   .Help("Tickets created (idempotent replays not counted), by channel and "
                         "priority.")
                   .Register(registry)),
      transitions_(prometheus::BuildCounter()
                       .Name("sundesk_ticket_transitions_total")
                       .Help("Committed ticket status changes, by from and to status.")
                       .Register(registry)),
      replays_(prometheus::BuildCounter()
                   .Name("sundesk_idempotent_replays_total")
                   .Help("Creates and comments answered from an earlier request with the same "
                         "request_id.")
                   .Register(registry)
                   .Add({})) {}

void TicketMetrics::TicketCreated(Channel channel, Priority priority) {
  created_
      .Add({{"channel", Label(ChannelName(channel), "CHANNEL_")},
            {"priority", Label(PriorityName(priority), "PRIORITY_")}})
      .Increment();
}

void TicketMetrics::StatusChanged(TicketStatus from, TicketStatus to) {
  transitions_
      .Add({{"from", Label(StatusName(from), "TICKET_STATUS_")},
            {"to", Label(StatusName(to), "TICKET_STATUS_")}})
      .Increment();
}

void TicketMetrics::IdempotentReplay() { replays_.Increment(); }

grpc::ServerUnaryReactor* TicketServiceHandlers::CreateTicket(
    grpc::CallbackServerContext* context, const pb::CreateTicketRequest* request,
    pb::Ticket* response) {
  // Deferred: the worker only checks and queues the create; the group-commit writer that
  // commits it finishes the call.
  return rpc::DeferredUnary(
      workers_, context, auth_,
      [this, request, response](const rpc::Principal& p, rpc::UnaryFinish finish) {
        const pb::CreateTicketRequest& r = *request;
        CreateTicketInput in{
            .request_id = r.request_id(),
            .tenant_id = r.tenant_id(),
            .subject = r.subject(),
            .description = r.description(),
            .requester = {.external_id = r.requester().external_id(),
                          .name = r.requester().name(),
                          .email = r.requester().email(),
                          .language = r.requester().language(),
                          .time_zone = r.requester().time_zone()},
            .channel = static_cast<Channel>(r.channel()),
            .priority = static_cast<Priority>(r.priority()),
            .language = r.language(),
            .category = r.category(),
            .required_skills = {r.required_skills().begin(), r.required_skills().end()},
            .tags = {r.tags().begin(), r.tags().end()},
        };
        for (const auto& [k, v] : r.custom_fields()) in.custom_fields[k] = v;
        tickets_.CreateTicketAsync(
            ToCaller(p), in,
            [response, finish = std::move(finish)](absl::StatusOr<Ticket> t) mutable {
              if (t.ok()) *response = TicketToProto(*t);
              std::move(finish)(t.status());
            });
      });
}

grpc::ServerUnaryReactor* TicketServiceHandlers::GetTicket(grpc::CallbackServerContext* context,
                                                           const pb::GetTicketRequest* request,
                                                           pb::Ticket* response) {
  return rpc::BlockingUnary(
      workers_, context, auth_, [this, request, response](const rpc::Principal& p) -> absl::Status {
        SUNDESK_ASSIGN_OR_RETURN(Ticket t, tickets_.GetTicket(ToCaller(p), request->ticket_id()));
        *response = TicketToProto(t);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* TicketServiceHandlers::ListTickets(grpc::CallbackServerContext* context,
                                                             const pb::ListTicketsRequest* request,
                                                             pb::ListTicketsResponse* response) {
  return rpc::BlockingUnary(
      workers_, context, auth_, [this, request, response](const rpc::Principal& p) -> absl::Status {
        const pb::TicketFilter& f = request->filter();
        ListTicketsInput in{.page_size = request->page_size(),
                            .page_token = request->page_token(),
                            .filter = {.status = static_cast<TicketStatus>(f.status()),
                                       .priority = static_cast<Priority>(f.priority()),
                                       .assignee_id = f.assignee_id(),
                                       .language = f.language(),
                                       .tag = f.tag(),
                                       .tenant_id = f.tenant_id(),
                                       .unassigned = f.unassigned()},
                            .order_by = request->order_by()};
        if (f.has_created_after()) in.filter.created_after = FromTimestamp(f.created_after());
        if (f.has_created_before()) in.filter.created_before = FromTimestamp(f.created_before());
        SUNDESK_ASSIGN_OR_RETURN(ListTicketsOutput out, tickets_.ListTickets(ToCaller(p), in));
        for (const Ticket& t : out.tickets) *response->add_tickets() = TicketToProto(t);
        response->set_next_page_token(out.next_page_token);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* TicketServiceHandlers::UpdateTicket(
    grpc::CallbackServerContext* context, const pb::UpdateTicketRequest* request,
    pb::Ticket* response) {
  return rpc::BlockingUnary(
      workers_, context, auth_, [this, request, response](const rpc::Principal& p) -> absl::Status {
        UpdateTicketInput in{
            .ticket_id = request->ticket().ticket_id(),
            .values = TicketFromProto(request->ticket()),
            .paths = {request->update_mask().paths().begin(), request->update_mask().paths().end()},
            .etag = request->etag()};
        SUNDESK_ASSIGN_OR_RETURN(Ticket t, tickets_.UpdateTicket(ToCaller(p), in));
        *response = TicketToProto(t);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* TicketServiceHandlers::TransitionTicket(
    grpc::CallbackServerContext* context, const pb::TransitionTicketRequest* request,
    pb::Ticket* response) {
  return rpc::BlockingUnary(
      workers_, context, auth_, [this, request, response](const rpc::Principal& p) -> absl::Status {
        TransitionInput in{.ticket_id = request->ticket_id(),
                           .to_status = static_cast<TicketStatus>(request->to_status()),
                           .etag = request->etag(),
                           .reason = request->reason()};
        SUNDESK_ASSIGN_OR_RETURN(Ticket t, tickets_.TransitionTicket(ToCaller(p), in));
        *response = TicketToProto(t);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* TicketServiceHandlers::AssignTicket(
    grpc::CallbackServerContext* context, const pb::AssignTicketRequest* request,
    pb::Ticket* response) {
  return rpc::BlockingUnary(
      workers_, context, auth_, [this, request, response](const rpc::Principal& p) -> absl::Status {
        AssignInput in{.ticket_id = request->ticket_id(),
                       .agent_id = request->agent_id(),
                       .etag = request->etag(),
                       .offer_id = request->offer_id(),
                       .routing_stage = request->routing_stage()};
        SUNDESK_ASSIGN_OR_RETURN(Ticket t, tickets_.AssignTicket(ToCaller(p), in));
        *response = TicketToProto(t);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* TicketServiceHandlers::UnassignTicket(
    grpc::CallbackServerContext* context, const pb::UnassignTicketRequest* request,
    pb::Ticket* response) {
  return rpc::BlockingUnary(
      workers_, context, auth_, [this, request, response](const rpc::Principal& p) -> absl::Status {
        UnassignInput in{.ticket_id = request->ticket_id(),
                         .etag = request->etag(),
                         .reason = request->reason()};
        SUNDESK_ASSIGN_OR_RETURN(Ticket t, tickets_.UnassignTicket(ToCaller(p), in));
        *response = TicketToProto(t);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* TicketServiceHandlers::AddComment(grpc::CallbackServerContext* context,
                                                            const pb::AddCommentRequest* request,
                                                            pb::Comment* response) {
  return rpc::BlockingUnary(
      workers_, context, auth_, [this, request, response](const rpc::Principal& p) -> absl::Status {
        AddCommentInput in{.ticket_id = request->ticket_id(),
                           .request_id = request->request_id(),
                           .body = request->body(),
                           .is_public = request->public_()};
        SUNDESK_ASSIGN_OR_RETURN(Comment c, tickets_.AddComment(ToCaller(p), in));
        *response = CommentToProto(c);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* TicketServiceHandlers::ListComments(
    grpc::CallbackServerContext* context, const pb::ListCommentsRequest* request,
    pb::ListCommentsResponse* response) {
  return rpc::BlockingUnary(
      workers_, context, auth_, [this, request, response](const rpc::Principal& p) -> absl::Status {
        ListCommentsInput in{.ticket_id = request->ticket_id(),
                             .page_size = request->page_size(),
                             .page_token = request->page_token(),
                             .public_only = request->public_only()};
        SUNDESK_ASSIGN_OR_RETURN(ListCommentsOutput out, tickets_.ListComments(ToCaller(p), in));
        for (const Comment& c : out.comments) *response->add_comments() = CommentToProto(c);
        response->set_next_page_token(out.next_page_token);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* TicketServiceHandlers::GetTicketHistory(
    grpc::CallbackServerContext* context, const pb::GetTicketHistoryRequest* request,
    pb::GetTicketHistoryResponse* response) {
  return rpc::BlockingUnary(
      workers_, context, auth_, [this, request, response](const rpc::Principal& p) -> absl::Status {
        HistoryInput in{.ticket_id = request->ticket_id(),
                        .page_size = request->page_size(),
                        .page_token = request->page_token()};
        SUNDESK_ASSIGN_OR_RETURN(HistoryOutput out, tickets_.GetTicketHistory(ToCaller(p), in));
        for (const HistoryEntry& h : out.entries) *response->add_entries() = HistoryToProto(h);
        response->set_next_page_token(out.next_page_token);
        return absl::OkStatus();
      });
}

}  // namespace sundesk::ticket
