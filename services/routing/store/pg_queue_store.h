#pragma once

#include "libs/pg/pool.h"
#include "services/routing/domain/queue.h"

namespace sundesk::routing {

// The queue in PostgreSQL (routing.tickets, routing.ticket_sla_at_risk). Thread-safe.
class PgQueueStore final : public QueueStore {
 public:
  explicit PgQueueStore(pg::Pool& pool) : pool_(pool) {}

  absl::StatusOr<Applied> ApplyTicket(const TicketCopy& ticket, absl::Time at) override;
  absl::StatusOr<Applied> ApplyAssignee(absl::string_view ticket_id, int64_t version,
                                        absl::string_view assignee_id, absl::Time at) override;
  absl::Status SetSlaDeadline(absl::string_view ticket_id, absl::Time deadline) override;
  absl::StatusOr<std::vector<std::pair<std::string, int64_t>>> DepthByLanguage() override;
  absl::StatusOr<std::vector<QueueEntry>> ListQueue(
      const QueueFilter& filter, const std::optional<std::vector<std::string>>& tenants,
      const std::optional<QueuePosition>& after, int limit) override;

 private:
  pg::Pool& pool_;
};

}  // namespace sundesk::routing
