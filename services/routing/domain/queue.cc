#include "services/routing/domain/queue.h"

#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "libs/api/validation.h"
#include "libs/core/ids.h"
#include "libs/core/status.h"

namespace sundesk::routing {
namespace {

absl::Status Invalid(absl::string_view field, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", why));
}

// Releases the agent's claim on a ticket that left it; Redis is soft state, so a failure
// is returned for the consumer to retry the event (the release is idempotent).
absl::Status ReleaseIfHeld(PresenceStore& presence, absl::string_view agent_id,
                           absl::string_view ticket_id) {
  if (agent_id.empty()) return absl::OkStatus();
  return presence.Release(agent_id, ticket_id).status();
}

// Position "<deadline micros or '-'>|<priority>|<queued micros>|<ticket id>".
std::string EncodePosition(const QueueEntry& e) {
  return absl::StrCat(e.sla_deadline ? absl::StrCat(absl::ToUnixMicros(*e.sla_deadline)) : "-", "|",
                      e.ticket.priority, "|", absl::ToUnixMicros(e.queued_time), "|",
                      e.ticket.ticket_id);
}

std::optional<QueuePosition> DecodePosition(absl::string_view position) {
  std::vector<absl::string_view> parts = absl::StrSplit(position, '|');
  if (parts.size() != 4) return std::nullopt;
  QueuePosition p;
  int64_t micros = 0;
  if (parts[0] != "-") {
    if (!absl::SimpleAtoi(parts[0], &micros)) return std::nullopt;
    p.sla_deadline = absl::FromUnixMicros(micros);
  }
  if (!absl::SimpleAtoi(parts[1], &p.priority)) return std::nullopt;
  if (!absl::SimpleAtoi(parts[2], &micros)) return std::nullopt;
  p.queued_time = absl::FromUnixMicros(micros);
  if (!IsUuid(parts[3])) return std::nullopt;
  p.ticket_id = std::string(parts[3]);
  return p;
}

std::string ListQuery(const QueueFilter& f) {
  return absl::StrCat("ListQueue;order=sla_deadline,priority,queued_time;", f.tenant_id.size(), ":",
                      f.tenant_id, ";", absl::AsciiStrToLower(f.language));
}

}  // namespace

bool WaitsForAgent(int status, absl::string_view assignee_id) {
  return assignee_id.empty() && status != kTicketStatusSolved && status != kTicketStatusClosed;
}

absl::StatusOr<std::vector<QueueStore::Applied>> QueueStore::ApplyAll(
    absl::Span<const QueueFact> facts) {
  std::vector<Applied> applied;
  applied.reserve(facts.size());
  for (const QueueFact& f : facts) {
    switch (f.kind) {
      case QueueFact::Kind::kTicket: {
        SUNDESK_ASSIGN_OR_RETURN(Applied a, ApplyTicket(f.ticket, f.at));
        applied.push_back(std::move(a));
        break;
      }
      case QueueFact::Kind::kAssignee: {
        SUNDESK_ASSIGN_OR_RETURN(Applied a, ApplyAssignee(f.id, f.version, f.assignee_id, f.at));
        applied.push_back(std::move(a));
        break;
      }
      case QueueFact::Kind::kSlaAtRisk:
        SUNDESK_RETURN_IF_ERROR(SetSlaDeadline(f.id, f.deadline));
        applied.push_back(Applied{.applied = true});
        break;
    }
  }
  return applied;
}

absl::Status TicketQueue::OnFacts(absl::Span<const QueueFact> facts) {
  if (facts.empty()) return absl::OkStatus();
  SUNDESK_ASSIGN_OR_RETURN(std::vector<QueueStore::Applied> applied, store_.ApplyAll(facts));
  if (applied.size() != facts.size()) {
    return absl::InternalError("the queue store answered for a different number of facts");
  }
  for (size_t i = 0; i < facts.size(); ++i) {
    const QueueFact& f = facts[i];
    switch (f.kind) {
      case QueueFact::Kind::kTicket:
        SUNDESK_RETURN_IF_ERROR(TicketLoads(f.ticket, applied[i]));
        break;
      case QueueFact::Kind::kAssignee:
        SUNDESK_RETURN_IF_ERROR(
            AssigneeLoads(f.id, f.assignee_id, f.previous_agent_id, applied[i]));
        break;
      case QueueFact::Kind::kSlaAtRisk:
        break;
    }
  }
  return absl::OkStatus();
}

absl::Status TicketQueue::OnTicket(const TicketCopy& ticket, absl::Time at) {
  SUNDESK_ASSIGN_OR_RETURN(QueueStore::Applied applied, store_.ApplyTicket(ticket, at));
  return TicketLoads(ticket, applied);
}

absl::Status TicketQueue::TicketLoads(const TicketCopy& ticket,
                                      const QueueStore::Applied& applied) {
  if (!applied.applied) return absl::OkStatus();  // redelivered or out of date
  // Load drops when the agent's ticket is solved or closed, or is no longer the agent's.
  const std::string& held = applied.before ? applied.before->assignee_id : ticket.assignee_id;
  const bool finished =
      ticket.status == kTicketStatusSolved || ticket.status == kTicketStatusClosed;
  if (finished || held != ticket.assignee_id) {
    SUNDESK_RETURN_IF_ERROR(ReleaseIfHeld(presence_, held, ticket.ticket_id));
  }
  // An open ticket counts in its assignee's load, however it was assigned.
  if (!finished && !ticket.assignee_id.empty()) {
    SUNDESK_RETURN_IF_ERROR(presence_.AddHoldings({{ticket.assignee_id, ticket.ticket_id}}));
  }
  return absl::OkStatus();
}

absl::Status TicketQueue::OnAssignee(absl::string_view ticket_id, int64_t version,
                                     absl::string_view agent_id,
                                     absl::string_view previous_agent_id, absl::Time at) {
  SUNDESK_ASSIGN_OR_RETURN(QueueStore::Applied applied,
                           store_.ApplyAssignee(ticket_id, version, agent_id, at));
  return AssigneeLoads(ticket_id, agent_id, previous_agent_id, applied);
}

absl::Status TicketQueue::AssigneeLoads(absl::string_view ticket_id, absl::string_view agent_id,
                                        absl::string_view previous_agent_id,
                                        const QueueStore::Applied& applied) {
  if (!applied.applied) return absl::OkStatus();
  // The new assignee's load counts the ticket whoever assigned it (routing's own
  // assignments hold it already; an ADMIN's AssignTicket adds it here, above capacity if
  // the admin so chose), before the previous one's drops.
  const bool finished =
      applied.before.has_value() && (applied.before->status == kTicketStatusSolved ||
                                     applied.before->status == kTicketStatusClosed);
  if (!agent_id.empty() && !finished) {
    SUNDESK_RETURN_IF_ERROR(
        presence_.AddHoldings({{std::string(agent_id), std::string(ticket_id)}}));
  }
  if (previous_agent_id != agent_id) {
    SUNDESK_RETURN_IF_ERROR(ReleaseIfHeld(presence_, previous_agent_id, ticket_id));
  }
  return absl::OkStatus();
}

absl::Status TicketQueue::OnSlaAtRisk(absl::string_view ticket_id, absl::Time deadline) {
  return store_.SetSlaDeadline(ticket_id, deadline);
}

std::vector<std::string> TicketQueue::CertifiedTenants(const Agent& agent) const {
  const absl::Time now = clock_.Now();
  std::vector<std::string> tenants;
  for (const Certification& c : agent.certifications) {
    if (c.ValidAt(now)) tenants.push_back(c.tenant_id);
  }
  return tenants;
}

absl::StatusOr<QueuePage> TicketQueue::List(absl::string_view scope, const QueueFilter& filter,
                                            const std::optional<std::vector<std::string>>& tenants,
                                            int64_t page_size, absl::string_view page_token) {
  SUNDESK_ASSIGN_OR_RETURN(int limit, api::ResolvePageSize("page_size", page_size));
  if (!filter.language.empty()) {
    SUNDESK_RETURN_IF_ERROR(api::CheckLanguageTag("filter.language", filter.language));
  }
  QueuePage page;
  // Another tenant's queue looks like an empty one; a non-UUID names no tenant.
  if (!filter.tenant_id.empty() && !IsUuid(filter.tenant_id)) return page;
  const std::string query = ListQuery(filter);
  std::optional<QueuePosition> after;
  if (!page_token.empty()) {
    SUNDESK_ASSIGN_OR_RETURN(std::string position,
                             page_tokens_.Verify("page_token", scope, query, page_token));
    after = DecodePosition(position);
    if (!after) return Invalid("page_token", "malformed");
  }
  SUNDESK_ASSIGN_OR_RETURN(std::vector<QueueEntry> rows,
                           store_.ListQueue(filter, tenants, after, limit + 1));
  if (static_cast<int>(rows.size()) > limit) {
    rows.resize(limit);
    page.next_page_token = page_tokens_.Sign(scope, query, EncodePosition(rows.back()));
  }
  const absl::Time now = clock_.Now();
  absl::flat_hash_map<std::string, RoutingPolicy> policies;
  for (QueueEntry& e : rows) {
    auto it = policies.find(e.ticket.tenant_id);
    if (it == policies.end()) {
      SUNDESK_ASSIGN_OR_RETURN(std::optional<StoredRoutingPolicy> stored,
                               policies_.Get(e.ticket.tenant_id));
      RoutingPolicy policy = stored ? stored->policy : RoutingPolicy{};
      it = policies.emplace(e.ticket.tenant_id, std::move(policy)).first;
    }
    QueuedTicketView view;
    view.wait_time = now - e.queued_time;
    view.stage = StageAt(it->second, e.queued_time, now);
    view.entry = std::move(e);
    page.tickets.push_back(std::move(view));
  }
  return page;
}

}  // namespace sundesk::routing
