#pragma once

#include "libs/core/clock.h"
#include "libs/core/ids.h"
#include "libs/kafka/outbox_notifier.h"
#include "libs/pg/pool.h"
#include "services/routing/domain/queue.h"

namespace sundesk::routing {

// The queue in PostgreSQL (routing.tickets, routing.ticket_sla_at_risk). A ticket that
// starts waiting, or changes priority or language while it waits, is announced with
// TicketQueued in routing's outbox in the same transaction (event id from the ticket and its
// version, so a redelivered event repeats it). Thread-safe.
class PgQueueStore final : public QueueStore {
 public:
  PgQueueStore(pg::Pool& pool, const Clock& clock, IdGenerator& ids)
      : pool_(pool), clock_(clock), ids_(ids) {}

  absl::StatusOr<Applied> ApplyTicket(const TicketCopy& ticket, absl::Time at) override;
  absl::StatusOr<Applied> ApplyAssignee(absl::string_view ticket_id, int64_t version,
                                        absl::string_view assignee_id, absl::Time at) override;
  absl::Status SetSlaDeadline(absl::string_view ticket_id, absl::Time deadline) override;
  // One transaction for the whole batch: the known tickets locked (in id order) and read
  // once, the facts applied in memory by version, then every changed copy in one INSERT ...
  // SELECT FROM unnest ... ON CONFLICT (a row stored meanwhile at the same or a newer
  // version stays), the deadlines in another, and the TicketQueued rows, all sent in one
  // round trip. About five round trips per batch instead of about five per event.
  absl::StatusOr<std::vector<Applied>> ApplyAll(absl::Span<const QueueFact> facts) override;
  absl::StatusOr<std::vector<std::pair<std::string, int64_t>>> DepthByLanguage() override;
  absl::StatusOr<std::vector<QueueEntry>> ListQueue(
      const QueueFilter& filter, const std::optional<std::vector<std::string>>& tenants,
      const std::optional<QueuePosition>& after, int limit) override;

  // Wakes routing's outbox relay after each commit that wrote events (optional; without
  // it the relay finds them by polling, up to a second later).
  void set_outbox_notifier(kafka::OutboxNotifier* notifier) { notifier_ = notifier; }

 private:
  pg::Pool& pool_;
  const Clock& clock_;
  IdGenerator& ids_;
  kafka::OutboxNotifier* notifier_ = nullptr;
};

}  // namespace sundesk::routing
