#pragma once

#include <map>
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
// transaction (the outbox relay publishes them to sundesk.sla.events.v1). A ticket loaded to
// be changed comes with its pending replans (sla.replans), which the engine applies first.
class PgClockStore final : public ClockStore {
 public:
  explicit PgClockStore(pg::Pool& pool) : pool_(pool) {}

  absl::Status Update(const std::string& ticket_id, const std::string& event_id,
                      Mutation mutate) override;
  absl::StatusOr<int> UpdateDue(absl::Time now, int limit, Mutation mutate) override;
  absl::StatusOr<TicketSla> Get(const std::string& ticket_id) override;
  absl::StatusOr<int> Replan(int limit, Mutation mutate) override;

  // How many clocks are in each state (canceled ones are not counted): one COUNT ... GROUP BY
  // over sla.clocks, for the sundesk_sla_clocks gauge.
  absl::StatusOr<std::map<ClockState, int64_t>> CountClocks();

 private:
  pg::Pool& pool_;
};

}  // namespace sundesk::sla
