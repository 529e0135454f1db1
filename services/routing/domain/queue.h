#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "libs/api/page_token.h"
#include "libs/core/clock.h"
#include "services/routing/domain/presence.h"
#include "services/routing/domain/routing_policy.h"

// The queue: routing's own copy of the tickets it must place, built from the ticket
// service's events (and the SLA service's warnings), kept in PostgreSQL so it survives a
// restart. A ticket is queued while it has no assignee and is neither SOLVED nor CLOSED.
namespace sundesk::routing {

// Same numbers as sundesk.ticket.v1.TicketStatus.
inline constexpr int kTicketStatusSolved = 5;
inline constexpr int kTicketStatusClosed = 6;

// A ticket as routing keeps it, from the latest event applied.
struct TicketCopy {
  std::string ticket_id;
  std::string tenant_id;
  std::string subject;
  std::string language;
  int priority = 0;  // sundesk.common.v1.Priority number
  std::vector<std::string> required_skills;
  int status = 0;  // sundesk.ticket.v1.TicketStatus number
  std::string assignee_id;
  int64_t version = 0;  // the ticket's version: events apply only when newer
};

// Whether a ticket in this state waits for an agent.
bool WaitsForAgent(int status, absl::string_view assignee_id);

// One fact from one consumed event, for applying a consumer batch at once.
struct QueueFact {
  enum class Kind {
    kTicket,     // a snapshot (created, updated, status changed): `ticket`, `at`
    kAssignee,   // TicketAssigned / TicketUnassigned: `id`, `version`, `assignee_id` (empty:
                 // unassigned), `previous_agent_id`, `at`
    kSlaAtRisk,  // SlaWarning / SlaBreached: `id`, `deadline`
  };
  Kind kind = Kind::kTicket;
  TicketCopy ticket;
  std::string id;
  int64_t version = 0;
  std::string assignee_id;
  std::string previous_agent_id;
  absl::Time at;
  absl::Time deadline;

  const std::string& ticket_id() const { return kind == Kind::kTicket ? ticket.ticket_id : id; }
};

struct QueueEntry {
  TicketCopy ticket;
  absl::Time queued_time;                  // when it was (last) queued
  std::optional<absl::Time> sla_deadline;  // set by an SLA warning or breach
};

struct QueueFilter {
  std::string tenant_id;
  std::string language;  // compared case-insensitively
};

// Keyset position in routing order.
struct QueuePosition {
  std::optional<absl::Time> sla_deadline;
  int priority = 0;
  absl::Time queued_time;
  std::string ticket_id;
};

class QueueStore {
 public:
  virtual ~QueueStore() = default;

  struct Applied {
    bool applied = false;              // false: the event was older than the copy
    std::optional<TicketCopy> before;  // the copy it replaced, if any
  };
  // Stores `ticket` unless a copy at the same or a newer version is there (a redelivered
  // or out-of-date event). A ticket that now waits keeps its queued time (or gets `at`);
  // one that does not leaves the queue.
  virtual absl::StatusOr<Applied> ApplyTicket(const TicketCopy& ticket, absl::Time at) = 0;
  // Sets the assignee of a known ticket at `version` (an event without a snapshot).
  // Not applied when the copy is unknown or not older.
  virtual absl::StatusOr<Applied> ApplyAssignee(absl::string_view ticket_id, int64_t version,
                                                absl::string_view assignee_id, absl::Time at) = 0;
  // Records an SLA deadline at risk; the earliest one known is kept.
  virtual absl::Status SetSlaDeadline(absl::string_view ticket_id, absl::Time deadline) = 0;
  // `facts` in order, as ApplyTicket / ApplyAssignee / SetSlaDeadline one after another
  // would, but committed together (one answer per fact; an SLA fact answers applied). The
  // default does exactly that, one at a time.
  virtual absl::StatusOr<std::vector<Applied>> ApplyAll(absl::Span<const QueueFact> facts);
  // Queued tickets per lowercased language.
  virtual absl::StatusOr<std::vector<std::pair<std::string, int64_t>>> DepthByLanguage() = 0;
  // Queued tickets of `tenants` (all when nullopt) in routing order after `after`.
  virtual absl::StatusOr<std::vector<QueueEntry>> ListQueue(
      const QueueFilter& filter, const std::optional<std::vector<std::string>>& tenants,
      const std::optional<QueuePosition>& after, int limit) = 0;
};

struct QueuedTicketView {
  QueueEntry entry;
  absl::Duration wait_time;
  int stage = 0;
};

struct QueuePage {
  std::vector<QueuedTicketView> tickets;
  std::string next_page_token;
};

// Applies ticket and SLA facts to the queue (idempotently: by ticket version, and by
// taking the earliest deadline), releases agents' load when tickets leave them, and lists
// the queue in routing order: earliest SLA deadline at risk first, then priority (highest
// first), then longest wait.
class TicketQueue {
 public:
  TicketQueue(QueueStore& store, PresenceStore& presence, RoutingPolicyStore& policies,
              const Clock& clock, const api::PageTokenSigner& page_tokens)
      : store_(store),
        presence_(presence),
        policies_(policies),
        clock_(clock),
        page_tokens_(page_tokens) {}

  // A snapshot event (created, updated, status changed) at `at`.
  absl::Status OnTicket(const TicketCopy& ticket, absl::Time at);
  // TicketAssigned / TicketUnassigned (empty `agent_id`) at `version`.
  absl::Status OnAssignee(absl::string_view ticket_id, int64_t version, absl::string_view agent_id,
                          absl::string_view previous_agent_id, absl::Time at);
  // SlaWarning / SlaBreached: the ticket moves ahead.
  absl::Status OnSlaAtRisk(absl::string_view ticket_id, absl::Time deadline);
  // The facts of a consumer batch, in order, as the calls above one after another would
  // apply them, committed in one transaction; then the loads as each fact changed them.
  absl::Status OnFacts(absl::Span<const QueueFact> facts);

  // Queued tickets per lowercased language (for sundesk_routing_queue_depth).
  absl::StatusOr<std::vector<std::pair<std::string, int64_t>>> DepthByLanguage() {
    return store_.DepthByLanguage();
  }

  // The tenants `agent` is certified for now: an agent's view of the queue.
  std::vector<std::string> CertifiedTenants(const Agent& agent) const;

  // `tenants`: the caller's scope (nullopt: every tenant). `scope` binds page tokens.
  absl::StatusOr<QueuePage> List(absl::string_view scope, const QueueFilter& filter,
                                 const std::optional<std::vector<std::string>>& tenants,
                                 int64_t page_size, absl::string_view page_token);

 private:
  // The loads after a snapshot / an assignment change was applied.
  absl::Status TicketLoads(const TicketCopy& ticket, const QueueStore::Applied& applied);
  absl::Status AssigneeLoads(absl::string_view ticket_id, absl::string_view agent_id,
                             absl::string_view previous_agent_id,
                             const QueueStore::Applied& applied);

  QueueStore& store_;
  PresenceStore& presence_;
  RoutingPolicyStore& policies_;
  const Clock& clock_;
  const api::PageTokenSigner& page_tokens_;
};

}  // namespace sundesk::routing
