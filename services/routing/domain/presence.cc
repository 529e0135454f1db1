#include "services/routing/domain/presence.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "libs/core/status.h"

namespace sundesk::routing {
namespace {

absl::StatusOr<Agent> FindAgent(AgentStore& agents, absl::string_view agent_id) {
  if (agent_id.empty()) return absl::InvalidArgumentError("agent_id: must be set");
  return agents.GetAgent(agent_id);
}

}  // namespace

absl::StatusOr<std::vector<PresenceRecord>> PresenceStore::GetMany(
    absl::Span<const std::string> agent_ids) {
  std::vector<PresenceRecord> records;
  records.reserve(agent_ids.size());
  for (const std::string& id : agent_ids) {
    SUNDESK_ASSIGN_OR_RETURN(PresenceRecord r, Get(id));
    records.push_back(r);
  }
  return records;
}

absl::StatusOr<ClaimOutcome> PresenceStore::ClaimIfAvailable(absl::string_view agent_id,
                                                             absl::string_view ticket_id,
                                                             int capacity, absl::Time now) {
  SUNDESK_ASSIGN_OR_RETURN(std::string holder, Holder(ticket_id));
  if (holder.empty()) {
    SUNDESK_ASSIGN_OR_RETURN(PresenceRecord record, Get(agent_id));
    if (record.status != PresenceStatus::kAvailable) return ClaimOutcome::kNotAvailable;
  }
  return Claim(agent_id, ticket_id, capacity, now);
}

absl::StatusOr<PresenceView> PresenceService::SetPresence(absl::string_view agent_id,
                                                          PresenceStatus status) {
  if (status != PresenceStatus::kAvailable && status != PresenceStatus::kAway &&
      status != PresenceStatus::kBusy && status != PresenceStatus::kOffline) {
    return absl::InvalidArgumentError(
        "status: must be PRESENCE_STATUS_AVAILABLE, _AWAY, _BUSY or _OFFLINE");
  }
  SUNDESK_ASSIGN_OR_RETURN(Agent agent, FindAgent(agents_, agent_id));
  if (agent.disabled && status != PresenceStatus::kOffline) {
    return absl::FailedPreconditionError(
        absl::StrCat("agent '", agent.agent_id, "' is disabled: only OFFLINE may be set"));
  }
  SUNDESK_RETURN_IF_ERROR(Set(agent, status, options_.unary_ttl).status());
  return View(agent);
}

absl::StatusOr<PresenceStatus> PresenceService::SetSessionPresence(const Agent& agent,
                                                                   PresenceStatus status,
                                                                   absl::Duration ttl) {
  if (agent.disabled && status != PresenceStatus::kOffline) {
    return absl::FailedPreconditionError(
        absl::StrCat("agent '", agent.agent_id, "' is disabled: only OFFLINE may be set"));
  }
  return Set(agent, status, ttl);
}

absl::StatusOr<PresenceStatus> PresenceService::Set(const Agent& agent, PresenceStatus status,
                                                    absl::Duration ttl) {
  SUNDESK_ASSIGN_OR_RETURN(PresenceStatus before,
                           presence_.SetStatus(agent.agent_id, status, clock_.Now(), ttl));
  if (before != status && observer_ != nullptr) {
    observer_->PresenceChanged(agent.agent_id, before, status);
  }
  return before;
}

absl::StatusOr<PresenceView> PresenceService::GetPresence(absl::string_view agent_id) {
  SUNDESK_ASSIGN_OR_RETURN(Agent agent, FindAgent(agents_, agent_id));
  return View(agent);
}

absl::StatusOr<PresenceView> PresenceService::View(const Agent& agent) {
  PresenceView view;
  view.agent_id = agent.agent_id;
  SUNDESK_ASSIGN_OR_RETURN(view.record, presence_.Get(agent.agent_id));
  view.capacity = agent.capacity;
  view.in_shift = AgentProfile(agent).InShift(clock_.Now());
  return view;
}

}  // namespace sundesk::routing
