#pragma once

#include <string>
#include <vector>

#include "libs/pg/migrations.h"
#include "libs/pg/pool.h"
#include "services/sla/domain/ticket_clocks.h"

namespace sundesk::sla {

inline constexpr char kSlaSchema[] = "sla";
inline constexpr char kSlaEventsTopic[] = "sundesk.sla.events.v1";

// The sla schema's migrations: store/migrations/*.sql and the outbox table (version 3).
std::vector<pg::Migration> SlaMigrations();

// Tickets' clocks and ledgers in PostgreSQL; signals go to the `sla.outbox` in the same
// transaction (the outbox relay publishes them to sundesk.sla.events.v1).
class PgClockStore final : public ClockStore {
 public:
  explicit PgClockStore(pg::Pool& pool) : pool_(pool) {}

  absl::Status Update(const std::string& ticket_id, const std::string& event_id,
                      Mutation mutate) override;
  absl::StatusOr<int> UpdateDue(absl::Time now, int limit, Mutation mutate) override;
  absl::StatusOr<TicketSla> Get(const std::string& ticket_id) override;

 private:
  pg::Pool& pool_;
};

}  // namespace sundesk::sla
