#include "services/routing/api/routing_service_handlers.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "libs/core/status.h"
#include "libs/rpc/handler.h"
#include "services/routing/api/routing_proto.h"
#include "services/routing/store/routing_events.h"

namespace sundesk::routing {
namespace {

namespace pb = ::sundesk::routing::v1;
using rpc::Principal;
using rpc::Role;

// The agent a presence call is about: an AGENT key may name only itself (empty means
// itself); another agent answers NOT_FOUND like a missing one.
absl::StatusOr<std::string> PresenceSubject(const Principal& caller, const std::string& agent_id) {
  if (caller.role != Role::kAgent) return agent_id;
  if (agent_id.empty() || agent_id == caller.agent_id) return caller.agent_id;
  return absl::NotFoundError(
      absl::StrCat("agent '", absl::CHexEscape(agent_id.substr(0, 64)), "' not found"));
}

void PresenceToProto(const PresenceView& view, pb::Presence* p) {
  p->set_agent_id(view.agent_id);
  p->set_status(static_cast<pb::PresenceStatus>(view.record.status));
  if (view.record.update_time != absl::InfinitePast()) {
    SetTimestamp(view.record.update_time, p->mutable_update_time());
  }
  p->set_active_tickets(view.record.active_tickets);
  p->set_capacity(view.capacity);
  p->set_in_shift(view.in_shift);
}

void PolicyToProto(const StoredRoutingPolicy& stored, pb::RoutingPolicy* p) {
  p->set_tenant_id(stored.policy.tenant_id);
  for (const OverflowStage& s : stored.policy.overflow_stages) {
    auto* out = p->add_overflow_stages();
    out->set_after_seconds(s.after_seconds);
    out->set_relax(static_cast<pb::OverflowRelax>(s.relax));
  }
  const int64_t seconds = absl::ToInt64Seconds(stored.policy.offer_timeout);
  p->mutable_offer_timeout()->set_seconds(seconds);
  p->mutable_offer_timeout()->set_nanos(static_cast<int32_t>(
      (stored.policy.offer_timeout - absl::Seconds(seconds)) / absl::Nanoseconds(1)));
  p->set_min_language_proficiency(stored.policy.min_language_proficiency);
  p->set_etag(PolicyEtag(stored));
  if (stored.version > 0) SetTimestamp(stored.update_time, p->mutable_update_time());
}

RoutingPolicy PolicyFromProto(const pb::RoutingPolicy& p) {
  RoutingPolicy policy;
  policy.tenant_id = p.tenant_id();
  for (const auto& s : p.overflow_stages()) {
    policy.overflow_stages.push_back({s.after_seconds(), static_cast<OverflowRelax>(s.relax())});
  }
  policy.offer_timeout =
      absl::Seconds(p.offer_timeout().seconds()) + absl::Nanoseconds(p.offer_timeout().nanos());
  policy.min_language_proficiency = p.min_language_proficiency();
  return policy;
}

}  // namespace

grpc::ServerBidiReactor<::sundesk::routing::v1::AgentMessage,
                        ::sundesk::routing::v1::RoutingMessage>*
RoutingServiceHandlers::AgentSession(grpc::CallbackServerContext* context) {
  return sessions_.Open(context);
}

grpc::ServerUnaryReactor* RoutingServiceHandlers::SetPresence(
    grpc::CallbackServerContext* context, const ::sundesk::routing::v1::SetPresenceRequest* request,
    ::sundesk::routing::v1::Presence* response) {
  return rpc::BlockingUnary(
      workers_, context, auth_, [this, request, response](const Principal& caller) -> absl::Status {
        SUNDESK_RETURN_IF_ERROR(rpc::RequireRole(caller, {Role::kAdmin, Role::kAgent}));
        SUNDESK_ASSIGN_OR_RETURN(std::string agent_id,
                                 PresenceSubject(caller, request->agent_id()));
        SUNDESK_ASSIGN_OR_RETURN(
            PresenceView view,
            presence_.SetPresence(agent_id, static_cast<PresenceStatus>(request->status())));
        PresenceToProto(view, response);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* RoutingServiceHandlers::GetPresence(
    grpc::CallbackServerContext* context, const ::sundesk::routing::v1::GetPresenceRequest* request,
    ::sundesk::routing::v1::Presence* response) {
  return rpc::BlockingUnary(
      workers_, context, auth_, [this, request, response](const Principal& caller) -> absl::Status {
        SUNDESK_RETURN_IF_ERROR(
            rpc::RequireRole(caller, {Role::kAdmin, Role::kService, Role::kAgent}));
        SUNDESK_ASSIGN_OR_RETURN(std::string agent_id,
                                 PresenceSubject(caller, request->agent_id()));
        SUNDESK_ASSIGN_OR_RETURN(PresenceView view, presence_.GetPresence(agent_id));
        PresenceToProto(view, response);
        SUNDESK_ASSIGN_OR_RETURN(std::vector<Offer> offers, offers_.AgentOffers(agent_id, {}));
        for (const Offer& o : offers) {
          if (o.state == OfferState::kOpen) OfferToProto(o, response->add_open_offers());
        }
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* RoutingServiceHandlers::AcceptOffer(
    grpc::CallbackServerContext* context, const ::sundesk::routing::v1::AcceptOfferRequest* request,
    ::sundesk::routing::v1::AcceptOfferResponse* response) {
  return rpc::BlockingUnary(
      workers_, context, auth_, [this, request, response](const Principal& caller) -> absl::Status {
        SUNDESK_RETURN_IF_ERROR(rpc::RequireRole(caller, {Role::kAgent}));
        SUNDESK_ASSIGN_OR_RETURN(Offer offer, offers_.Accept(caller.agent_id, request->offer_id()));
        OfferToProto(offer, response->mutable_offer());
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* RoutingServiceHandlers::RejectOffer(
    grpc::CallbackServerContext* context, const ::sundesk::routing::v1::RejectOfferRequest* request,
    ::sundesk::routing::v1::RejectOfferResponse* response) {
  return rpc::BlockingUnary(
      workers_, context, auth_, [this, request](const Principal& caller) -> absl::Status {
        SUNDESK_RETURN_IF_ERROR(rpc::RequireRole(caller, {Role::kAgent}));
        return offers_.Reject(caller.agent_id, request->offer_id(), request->reason()).status();
      });
}

grpc::ServerUnaryReactor* RoutingServiceHandlers::GetRoutingPolicy(
    grpc::CallbackServerContext* context,
    const ::sundesk::routing::v1::GetRoutingPolicyRequest* request,
    ::sundesk::routing::v1::RoutingPolicy* response) {
  return rpc::BlockingUnary(
      workers_, context, auth_, [this, request, response](const Principal& caller) -> absl::Status {
        SUNDESK_RETURN_IF_ERROR(
            rpc::RequireRole(caller, {Role::kAdmin, Role::kService, Role::kClient}));
        std::string tenant_id = request->tenant_id();
        // A CLIENT sees its own tenant only; another one answers like a missing one.
        if (caller.role == Role::kClient) {
          if (!tenant_id.empty() && tenant_id != caller.tenant_id) {
            return absl::NotFoundError(
                absl::StrCat("tenant '", absl::CHexEscape(tenant_id.substr(0, 64)), "' not found"));
          }
          tenant_id = caller.tenant_id;
        }
        SUNDESK_ASSIGN_OR_RETURN(StoredRoutingPolicy stored, policies_.Get(tenant_id));
        PolicyToProto(stored, response);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* RoutingServiceHandlers::UpdateRoutingPolicy(
    grpc::CallbackServerContext* context,
    const ::sundesk::routing::v1::UpdateRoutingPolicyRequest* request,
    ::sundesk::routing::v1::RoutingPolicy* response) {
  return rpc::BlockingUnary(
      workers_, context, auth_, [this, request, response](const Principal& caller) -> absl::Status {
        SUNDESK_RETURN_IF_ERROR(rpc::RequireRole(caller, {Role::kAdmin}));
        std::vector<std::string> mask(request->update_mask().paths().begin(),
                                      request->update_mask().paths().end());
        SUNDESK_ASSIGN_OR_RETURN(
            StoredRoutingPolicy stored,
            policies_.Update(PolicyFromProto(request->routing_policy()), mask, request->etag()));
        PolicyToProto(stored, response);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* RoutingServiceHandlers::ListQueue(
    grpc::CallbackServerContext* context, const ::sundesk::routing::v1::ListQueueRequest* request,
    ::sundesk::routing::v1::ListQueueResponse* response) {
  return rpc::BlockingUnary(
      workers_, context, auth_, [this, request, response](const Principal& caller) -> absl::Status {
        SUNDESK_RETURN_IF_ERROR(
            rpc::RequireRole(caller, {Role::kAdmin, Role::kService, Role::kClient, Role::kAgent}));
        // The caller's scope: a CLIENT its tenant, an AGENT the tenants it is certified for now.
        std::optional<std::vector<std::string>> tenants;
        std::string scope(rpc::RoleName(caller.role));
        if (caller.role == Role::kClient) {
          tenants = std::vector<std::string>{caller.tenant_id};
          absl::StrAppend(&scope, ":", caller.tenant_id);
        } else if (caller.role == Role::kAgent) {
          tenants.emplace();
          absl::StrAppend(&scope, ":", caller.agent_id);
          absl::StatusOr<Agent> agent = agents_.GetAgent(caller.agent_id);
          if (!agent.ok() && !absl::IsNotFound(agent.status())) return agent.status();
          if (agent.ok()) tenants = queue_.CertifiedTenants(*agent);
        }
        QueueFilter filter{.tenant_id = request->filter().tenant_id(),
                           .language = request->filter().language()};
        SUNDESK_ASSIGN_OR_RETURN(
            QueuePage page,
            queue_.List(scope, filter, tenants, request->page_size(), request->page_token()));
        for (const QueuedTicketView& v : page.tickets) {
          pb::QueuedTicket* q = response->add_queued_tickets();
          q->set_ticket_id(v.entry.ticket.ticket_id);
          q->set_tenant_id(v.entry.ticket.tenant_id);
          q->set_language(v.entry.ticket.language);
          q->set_priority(static_cast<::sundesk::common::v1::Priority>(v.entry.ticket.priority));
          const int64_t seconds = absl::ToInt64Seconds(v.wait_time);
          q->mutable_wait_time()->set_seconds(seconds);
          q->mutable_wait_time()->set_nanos(
              static_cast<int32_t>((v.wait_time - absl::Seconds(seconds)) / absl::Nanoseconds(1)));
          q->set_stage(v.stage);
          if (v.entry.sla_deadline) SetTimestamp(*v.entry.sla_deadline, q->mutable_sla_deadline());
          for (const std::string& skill : v.entry.ticket.required_skills)
            q->add_required_skills(skill);
        }
        response->set_next_page_token(page.next_page_token);
        return absl::OkStatus();
      });
}

}  // namespace sundesk::routing
