#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
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
  explicit PgClockStore(pg::Pool& pool);
  ~PgClockStore() override;

  // Each call is one transaction of a few pipelined round trips, whatever the number of
  // items: the tickets, their clocks, their ledgers' last entries, the pending replans and
  // the tenants' policies and calendars are read with one statement each (`= ANY`), and
  // only changed rows are written back, each table with one statement (unnest).
  absl::StatusOr<std::vector<size_t>> UpdateBatch(const std::vector<Item>& items,
                                                  ItemMutation mutate) override;
  absl::StatusOr<int> UpdateDue(absl::Time now, int limit, DueMutation mutate,
                                const DueClaim& claim) override;
  absl::StatusOr<absl::Time> NextDue() override;
  absl::StatusOr<TicketSla> Get(const std::string& ticket_id) override;
  absl::StatusOr<int> Replan(int limit, Mutation mutate) override;

  // How many clocks are in each state (canceled ones are not counted): one COUNT ... GROUP BY
  // over sla.clocks, for the sundesk_sla_clocks gauge.
  absl::StatusOr<std::map<ClockState, int64_t>> CountClocks();

 private:
  // One transaction of Replan: `found` tells whether a pending replan was taken.
  absl::StatusOr<int> ReplanOnce(int limit, Mutation mutate, bool* found);

  class TxCatalog;
  class Batch;

  // The BusinessCalendar of `c` (by id and version, built once).
  absl::StatusOr<std::shared_ptr<const calendar::BusinessCalendar>> Cached(const Calendar& c);

  pg::Pool& pool_;
  absl::Mutex calendars_mu_;
  absl::flat_hash_map<std::string, std::shared_ptr<const calendar::BusinessCalendar>> calendars_
      ABSL_GUARDED_BY(calendars_mu_);
};

}  // namespace sundesk::sla
