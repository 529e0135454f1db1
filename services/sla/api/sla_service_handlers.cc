#include "services/sla/api/sla_service_handlers.h"

#include <string>
#include <vector>

#include "libs/core/status.h"
#include "libs/rpc/handler.h"
#include "services/sla/store/sla_proto.h"

namespace sundesk::sla {
namespace {

using rpc::Principal;
using rpc::Role;

Caller SettingsCaller(const Principal& p) {
  Caller c{.all_tenants = p.role == Role::kAdmin || p.role == Role::kService};
  if (p.role == Role::kClient) c.tenant_id = p.tenant_id;
  if (p.role == Role::kAgent) {
    c.agent = true;
    c.agent_id = p.agent_id;  // without one, nothing is visible
  }
  return c;
}

std::vector<std::string> Paths(const google::protobuf::FieldMask& mask) {
  return {mask.paths().begin(), mask.paths().end()};
}

}  // namespace

grpc::ServerUnaryReactor* SlaServiceHandlers::CreateCalendar(
    grpc::CallbackServerContext* context, const v1::CreateCalendarRequest* request,
    v1::Calendar* response) {
  return rpc::BlockingUnary(
      workers_, context, auth_, [this, request, response](const Principal& caller) -> absl::Status {
        SUNDESK_RETURN_IF_ERROR(rpc::RequireRole(caller, {Role::kAdmin}));
        SUNDESK_ASSIGN_OR_RETURN(
            Calendar c,
            settings_.CreateCalendar(request->request_id(), FromProto(request->calendar())));
        ToProto(c, response);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* SlaServiceHandlers::GetCalendar(grpc::CallbackServerContext* context,
                                                          const v1::GetCalendarRequest* request,
                                                          v1::Calendar* response) {
  return rpc::BlockingUnary(
      workers_, context, auth_, [this, request, response](const Principal& caller) -> absl::Status {
        SUNDESK_RETURN_IF_ERROR(
            rpc::RequireRole(caller, {Role::kAdmin, Role::kService, Role::kClient}));
        SUNDESK_ASSIGN_OR_RETURN(Calendar c,
                                 settings_.GetCalendar(SettingsCaller(caller), request->calendar_id()));
        ToProto(c, response);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* SlaServiceHandlers::ListCalendars(grpc::CallbackServerContext* context,
                                                            const v1::ListCalendarsRequest* request,
                                                            v1::ListCalendarsResponse* response) {
  return rpc::BlockingUnary(
      workers_, context, auth_, [this, request, response](const Principal& caller) -> absl::Status {
        SUNDESK_RETURN_IF_ERROR(
            rpc::RequireRole(caller, {Role::kAdmin, Role::kService, Role::kClient}));
        SUNDESK_ASSIGN_OR_RETURN(
            CalendarPage page,
            settings_.ListCalendars(SettingsCaller(caller), request->tenant_id(), request->page_size(),
                                    request->page_token()));
        for (const Calendar& c : page.calendars) ToProto(c, response->add_calendars());
        response->set_next_page_token(page.next_page_token);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* SlaServiceHandlers::UpdateCalendar(
    grpc::CallbackServerContext* context, const v1::UpdateCalendarRequest* request,
    v1::Calendar* response) {
  return rpc::BlockingUnary(
      workers_, context, auth_, [this, request, response](const Principal& caller) -> absl::Status {
        SUNDESK_RETURN_IF_ERROR(rpc::RequireRole(caller, {Role::kAdmin}));
        SUNDESK_ASSIGN_OR_RETURN(
            Calendar c, settings_.UpdateCalendar(FromProto(request->calendar()),
                                                 Paths(request->update_mask()), request->etag()));
        ToProto(c, response);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* SlaServiceHandlers::CreatePolicy(grpc::CallbackServerContext* context,
                                                           const v1::CreatePolicyRequest* request,
                                                           v1::Policy* response) {
  return rpc::BlockingUnary(
      workers_, context, auth_, [this, request, response](const Principal& caller) -> absl::Status {
        SUNDESK_RETURN_IF_ERROR(rpc::RequireRole(caller, {Role::kAdmin}));
        SUNDESK_ASSIGN_OR_RETURN(Policy in, FromProto(request->policy()));
        SUNDESK_ASSIGN_OR_RETURN(Policy p, settings_.CreatePolicy(request->request_id(), in));
        ToProto(p, response);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* SlaServiceHandlers::ListPolicies(grpc::CallbackServerContext* context,
                                                           const v1::ListPoliciesRequest* request,
                                                           v1::ListPoliciesResponse* response) {
  return rpc::BlockingUnary(
      workers_, context, auth_, [this, request, response](const Principal& caller) -> absl::Status {
        SUNDESK_RETURN_IF_ERROR(
            rpc::RequireRole(caller, {Role::kAdmin, Role::kService, Role::kClient}));
        SUNDESK_ASSIGN_OR_RETURN(
            PolicyPage page, settings_.ListPolicies(SettingsCaller(caller), request->tenant_id(),
                                                    request->page_size(), request->page_token()));
        for (const Policy& p : page.policies) ToProto(p, response->add_policies());
        response->set_next_page_token(page.next_page_token);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* SlaServiceHandlers::UpdatePolicy(grpc::CallbackServerContext* context,
                                                           const v1::UpdatePolicyRequest* request,
                                                           v1::Policy* response) {
  return rpc::BlockingUnary(
      workers_, context, auth_, [this, request, response](const Principal& caller) -> absl::Status {
        SUNDESK_RETURN_IF_ERROR(rpc::RequireRole(caller, {Role::kAdmin}));
        SUNDESK_ASSIGN_OR_RETURN(Policy changes, FromProto(request->policy()));
        SUNDESK_ASSIGN_OR_RETURN(
            Policy p,
            settings_.UpdatePolicy(changes, Paths(request->update_mask()), request->etag()));
        ToProto(p, response);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* SlaServiceHandlers::GetTicketSla(grpc::CallbackServerContext* context,
                                                           const v1::GetTicketSlaRequest* request,
                                                           v1::TicketSla* response) {
  return rpc::BlockingUnary(
      workers_, context, auth_, [this, request, response](const Principal& caller) -> absl::Status {
        SUNDESK_RETURN_IF_ERROR(
            rpc::RequireRole(caller, {Role::kAdmin, Role::kService, Role::kClient, Role::kAgent}));
        // An AGENT key sees the SLA of the tickets assigned to its agent, as GetTicket does.
        SUNDESK_ASSIGN_OR_RETURN(
            TicketClocks::TicketView view,
            clocks_.Get(SettingsCaller(caller), request->ticket_id(), request->include_ledger()));
        response->set_ticket_id(view.sla.ticket.ticket_id);
        response->set_tenant_id(view.sla.ticket.tenant_id);
        response->set_policy_id(view.sla.policy_id);
        response->set_calendar_id(view.sla.calendar_id);
        for (const ClockView& c : view.clocks) {
          v1::SlaClock* out = response->add_clocks();
          out->set_metric(static_cast<v1::SlaMetric>(c.metric));
          SetDuration(c.target, out->mutable_target());
          SetDuration(c.elapsed, out->mutable_elapsed());
          SetDuration(c.remaining, out->mutable_remaining());
          if (c.deadline) SetTimestamp(*c.deadline, out->mutable_deadline());
          out->set_state(static_cast<v1::ClockState>(c.state));
          SetTimestamp(c.start_time, out->mutable_start_time());
          if (c.stop_time) SetTimestamp(*c.stop_time, out->mutable_stop_time());
          out->set_cycle(c.cycle);
        }
        response->mutable_ledger()->Add(view.sla.ledger.begin(), view.sla.ledger.end());
        return absl::OkStatus();
      });
}

}  // namespace sundesk::sla
