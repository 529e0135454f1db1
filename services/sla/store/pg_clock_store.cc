#include "services/sla/store/pg_clock_store.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "libs/core/status.h"
#include "libs/kafka/outbox.h"
#include "libs/pg/transaction.h"
#include "services/sla/store/migrations.h"
#include "services/sla/store/sla_events.h"
#include "services/sla/store/sla_proto.h"

namespace sundesk::sla {
namespace {

constexpr char kConsumer[] = "sla.ticket-events";

constexpr absl::string_view kTicketColumns =
    "ticket_id, tenant_id, created, last_sequence, create_time, priority, channel, status, "
    "policy_id, calendar_id, warn_at_percent, assignee_id, replanned_through";
constexpr absl::string_view kClockColumns =
    "metric, cycle, target_ns, elapsed_ns, counted_until, counting, warned, breached, met, "
    "canceled, start_time, stop_time, deadline, warn_time";

std::optional<absl::Time> Finite(absl::Time t) {
  if (t == absl::InfiniteFuture() || t == absl::InfinitePast()) return std::nullopt;
  return t;
}

absl::StatusOr<absl::Time> TimeOr(const pg::Result& r, int row, absl::string_view column,
                                  absl::Time if_null) {
  if (r.IsNull(row, column)) return if_null;
  return r.Time(row, column);
}

absl::StatusOr<int> IntColumn(const pg::Result& r, int row, absl::string_view column) {
  SUNDESK_ASSIGN_OR_RETURN(int64_t v, r.Int64(row, column));
  return static_cast<int>(v);
}

// The replans after the ticket's last one that concern its calendar or policy.
absl::StatusOr<std::vector<Replan>> PendingReplans(pg::Connection& conn, const TicketSla& sla) {
  SUNDESK_ASSIGN_OR_RETURN(
      pg::Result r,
      conn.Execute("SELECT replan_id, calendar_id, policy_id, version, old_time_zone, "
                   "old_always_open, old_body, change_time FROM sla.replans "
                   "WHERE NOT done AND replan_id > $1 AND ((calendar_id <> '' AND calendar_id = "
                   "$2) OR (policy_id <> '' AND policy_id = $3)) ORDER BY replan_id",
                   {sla.replanned_through, sla.calendar_id, sla.policy_id}));
  std::vector<Replan> out;
  for (int i = 0; i < r.rows(); ++i) {
    Replan replan;
    SUNDESK_ASSIGN_OR_RETURN(replan.replan_id, r.Int64(i, "replan_id"));
    replan.calendar_id = std::string(r.Text(i, "calendar_id"));
    replan.policy_id = std::string(r.Text(i, "policy_id"));
    SUNDESK_ASSIGN_OR_RETURN(replan.version, r.Int64(i, "version"));
    SUNDESK_ASSIGN_OR_RETURN(replan.change_time, r.Time(i, "change_time"));
    if (!r.IsNull(i, "old_body")) {
      SUNDESK_ASSIGN_OR_RETURN(std::string body, r.Bytea(i, "old_body"));
      v1::Calendar proto;
      if (!proto.ParseFromString(body)) {
        return absl::DataLossError("sla.replans.old_body: not a serialized Calendar");
      }
      Calendar old = FromProto(proto);
      old.spec.time_zone = std::string(r.Text(i, "old_time_zone"));
      SUNDESK_ASSIGN_OR_RETURN(old.spec.always_open, r.Bool(i, "old_always_open"));
      SUNDESK_ASSIGN_OR_RETURN(calendar::BusinessCalendar cal,
                               calendar::BusinessCalendar::Create(old.spec));
      replan.old_calendar = std::make_shared<const calendar::BusinessCalendar>(std::move(cal));
    }
    out.push_back(std::move(replan));
  }
  return out;
}

// The ticket's state as stored; `found` false when there is no row. With `lock`, also the
// replans still to apply to it.
absl::StatusOr<TicketSla> Load(pg::Connection& conn, const std::string& ticket_id, bool lock,
                               bool* found) {
  SUNDESK_ASSIGN_OR_RETURN(pg::Result t,
                           conn.Execute(absl::StrCat("SELECT ", kTicketColumns,
                                                     " FROM sla.ticket_slas WHERE ticket_id = $1",
                                                     lock ? " FOR UPDATE" : ""),
                                        {ticket_id}));
  TicketSla sla;
  *found = t.rows() > 0;
  if (!*found) return sla;
  sla.ticket.ticket_id = ticket_id;
  sla.ticket.tenant_id = std::string(t.Text(0, "tenant_id"));
  SUNDESK_ASSIGN_OR_RETURN(sla.created, t.Bool(0, "created"));
  SUNDESK_ASSIGN_OR_RETURN(sla.last_sequence, t.Int64(0, "last_sequence"));
  SUNDESK_ASSIGN_OR_RETURN(sla.create_time, TimeOr(t, 0, "create_time", absl::UnixEpoch()));
  SUNDESK_ASSIGN_OR_RETURN(int priority, IntColumn(t, 0, "priority"));
  sla.ticket.priority = static_cast<Priority>(priority);
  SUNDESK_ASSIGN_OR_RETURN(int channel, IntColumn(t, 0, "channel"));
  sla.ticket.channel = static_cast<Channel>(channel);
  SUNDESK_ASSIGN_OR_RETURN(int status, IntColumn(t, 0, "status"));
  sla.ticket.status = static_cast<TicketStatus>(status);
  sla.policy_id = std::string(t.Text(0, "policy_id"));
  sla.calendar_id = std::string(t.Text(0, "calendar_id"));
  SUNDESK_ASSIGN_OR_RETURN(sla.warn_at_percent, IntColumn(t, 0, "warn_at_percent"));
  sla.ticket.assignee_id = std::string(t.Text(0, "assignee_id"));
  SUNDESK_ASSIGN_OR_RETURN(sla.replanned_through, t.Int64(0, "replanned_through"));
  if (lock && (!sla.calendar_id.empty() || !sla.policy_id.empty())) {
    SUNDESK_ASSIGN_OR_RETURN(sla.pending_replans, PendingReplans(conn, sla));
  }

  SUNDESK_ASSIGN_OR_RETURN(pg::Result c,
                           conn.Execute(absl::StrCat("SELECT ", kClockColumns,
                                                     " FROM sla.clocks WHERE ticket_id = $1 "
                                                     "ORDER BY metric"),
                                        {ticket_id}));
  for (int i = 0; i < c.rows(); ++i) {
    SlaClock clock;
    SUNDESK_ASSIGN_OR_RETURN(int metric, IntColumn(c, i, "metric"));
    clock.metric = static_cast<Metric>(metric);
    SUNDESK_ASSIGN_OR_RETURN(clock.cycle, IntColumn(c, i, "cycle"));
    SUNDESK_ASSIGN_OR_RETURN(int64_t target, c.Int64(i, "target_ns"));
    clock.target = absl::Nanoseconds(target);
    SUNDESK_ASSIGN_OR_RETURN(int64_t elapsed, c.Int64(i, "elapsed_ns"));
    clock.elapsed = absl::Nanoseconds(elapsed);
    SUNDESK_ASSIGN_OR_RETURN(clock.counted_until, c.Time(i, "counted_until"));
    SUNDESK_ASSIGN_OR_RETURN(clock.counting, c.Bool(i, "counting"));
    SUNDESK_ASSIGN_OR_RETURN(clock.warned, c.Bool(i, "warned"));
    SUNDESK_ASSIGN_OR_RETURN(clock.breached, c.Bool(i, "breached"));
    SUNDESK_ASSIGN_OR_RETURN(clock.met, c.Bool(i, "met"));
    SUNDESK_ASSIGN_OR_RETURN(clock.canceled, c.Bool(i, "canceled"));
    SUNDESK_ASSIGN_OR_RETURN(clock.start_time, c.Time(i, "start_time"));
    if (!c.IsNull(i, "stop_time")) {
      SUNDESK_ASSIGN_OR_RETURN(absl::Time stop, c.Time(i, "stop_time"));
      clock.stop_time = stop;
    }
    SUNDESK_ASSIGN_OR_RETURN(clock.deadline, TimeOr(c, i, "deadline", absl::InfiniteFuture()));
    SUNDESK_ASSIGN_OR_RETURN(clock.warn_time, TimeOr(c, i, "warn_time", absl::InfiniteFuture()));
    sla.clocks.push_back(clock);
  }

  SUNDESK_ASSIGN_OR_RETURN(pg::Result l,
                           conn.Execute("SELECT entry FROM sla.ledger WHERE ticket_id = $1 "
                                        "ORDER BY sequence",
                                        {ticket_id}));
  for (int i = 0; i < l.rows(); ++i) {
    SUNDESK_ASSIGN_OR_RETURN(std::string bytes, l.Bytea(i, "entry"));
    LedgerEntry entry;
    if (!entry.ParseFromString(bytes)) {
      return absl::DataLossError(
          absl::StrCat("sla.ledger: entry ", i + 1, " of ticket ", ticket_id, " is unreadable"));
    }
    sla.ledger.push_back(std::move(entry));
  }
  return sla;
}

// Writes `sla` (the ledger from entry `ledger_stored` on), and `signals` to the outbox.
absl::Status Save(pg::Connection& tx, const TicketSla& sla, size_t ledger_stored,
                  const std::vector<SlaSignal>& signals) {
  const std::string& id = sla.ticket.ticket_id;
  SUNDESK_RETURN_IF_ERROR(
      tx.Execute("UPDATE sla.ticket_slas SET tenant_id = $2, created = $3, last_sequence = $4, "
                 "create_time = $5, priority = $6, channel = $7, status = $8, policy_id = $9, "
                 "calendar_id = $10, warn_at_percent = $11, next_due = $12, assignee_id = $13, "
                 "replanned_through = $14 WHERE ticket_id = $1",
                 {id, sla.ticket.tenant_id, sla.created, sla.last_sequence,
                  sla.created ? std::optional<absl::Time>(sla.create_time) : std::nullopt,
                  static_cast<int>(sla.ticket.priority), static_cast<int>(sla.ticket.channel),
                  static_cast<int>(sla.ticket.status), sla.policy_id, sla.calendar_id,
                  sla.warn_at_percent, Finite(SlaEngine::NextDue(sla)), sla.ticket.assignee_id,
                  sla.replanned_through})
          .status());
  SUNDESK_RETURN_IF_ERROR(tx.Execute("DELETE FROM sla.clocks WHERE ticket_id = $1", {id}).status());
  for (const SlaClock& c : sla.clocks) {
    SUNDESK_RETURN_IF_ERROR(
        tx.Execute(absl::StrCat("INSERT INTO sla.clocks (ticket_id, ", kClockColumns,
                                ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, "
                                "$13, $14, $15)"),
                   {id, static_cast<int>(c.metric), c.cycle, absl::ToInt64Nanoseconds(c.target),
                    absl::ToInt64Nanoseconds(c.elapsed), c.counted_until, c.counting, c.warned,
                    c.breached, c.met, c.canceled, c.start_time, c.stop_time, Finite(c.deadline),
                    Finite(c.warn_time)})
            .status());
  }
  for (size_t i = ledger_stored; i < sla.ledger.size(); ++i) {
    const LedgerEntry& e = sla.ledger[i];
    SUNDESK_RETURN_IF_ERROR(
        tx.Execute("INSERT INTO sla.ledger (ticket_id, sequence, entry) VALUES ($1, $2, $3)",
                   {id, e.sequence(), pg::Param::Bytea(e.SerializeAsString())})
            .status());
  }
  for (const SlaSignal& s : signals) {
    SUNDESK_RETURN_IF_ERROR(kafka::InsertOutboxEvent(tx, kSlaSchema, kSlaEventsTopic, ToEvent(s)));
  }
  return absl::OkStatus();
}

absl::Status MutateLocked(pg::Connection& tx, const std::string& ticket_id,
                          ClockStore::Mutation mutate) {
  bool found = false;
  SUNDESK_ASSIGN_OR_RETURN(TicketSla sla, Load(tx, ticket_id, /*lock=*/true, &found));
  if (!found) return absl::InternalError("sla.ticket_slas row vanished under its lock");
  const size_t ledger_stored = sla.ledger.size();
  SUNDESK_ASSIGN_OR_RETURN(std::vector<SlaSignal> signals, mutate(sla));
  sla.ticket.ticket_id = ticket_id;
  return Save(tx, sla, ledger_stored, signals);
}

}  // namespace

std::vector<pg::Migration> SlaMigrations() {
  std::vector<pg::Migration> all = Migrations();
  all.push_back(kafka::OutboxMigration(3));
  std::sort(all.begin(), all.end(),
            [](const pg::Migration& a, const pg::Migration& b) { return a.version < b.version; });
  return all;
}

absl::Status PgClockStore::Update(const std::string& ticket_id, const std::string& event_id,
                                  Mutation mutate) {
  return pg::WithTransaction(pool_, [&](pg::Connection& tx) -> absl::Status {
    if (!event_id.empty()) {
      SUNDESK_ASSIGN_OR_RETURN(pg::Result r,
                               tx.Execute("INSERT INTO sla.processed_events (consumer, event_id) "
                                          "VALUES ($1, $2) ON CONFLICT DO NOTHING",
                                          {kConsumer, event_id}));
      if (r.affected_rows() == 0) return absl::OkStatus();  // applied before
    }
    // The row exists before it is locked, so two writers of a new ticket queue up on it.
    SUNDESK_RETURN_IF_ERROR(
        tx.Execute("INSERT INTO sla.ticket_slas (ticket_id, tenant_id, created, last_sequence, "
                   "priority, channel, status, policy_id, calendar_id, warn_at_percent) "
                   "VALUES ($1, '', false, 0, 0, 0, 0, '', '', 0) ON CONFLICT DO NOTHING",
                   {ticket_id})
            .status());
    return MutateLocked(tx, ticket_id, mutate);
  });
}

absl::StatusOr<int> PgClockStore::UpdateDue(absl::Time now, int limit, Mutation mutate) {
  int claimed = 0;
  SUNDESK_RETURN_IF_ERROR(pg::WithTransaction(pool_, [&](pg::Connection& tx) -> absl::Status {
    // Another replica's claimed tickets are skipped, not waited for: each due timer is
    // fired by the one transaction that holds its ticket, together with its outbox rows.
    SUNDESK_ASSIGN_OR_RETURN(
        pg::Result due, tx.Execute("SELECT ticket_id FROM sla.ticket_slas WHERE next_due <= $1 "
                                   "ORDER BY next_due LIMIT $2 FOR UPDATE SKIP LOCKED",
                                   {now, limit}));
    claimed = due.rows();
    for (int i = 0; i < due.rows(); ++i) {
      SUNDESK_RETURN_IF_ERROR(MutateLocked(tx, std::string(due.Text(i, 0)), mutate));
    }
    return absl::OkStatus();
  }));
  return claimed;
}

absl::StatusOr<int> PgClockStore::Replan(int limit, Mutation mutate) {
  int claimed = 0;
  SUNDESK_RETURN_IF_ERROR(pg::WithTransaction(pool_, [&](pg::Connection& tx) -> absl::Status {
    claimed = 0;
    // One replica walks one replan at a time; another takes the next one meanwhile.
    SUNDESK_ASSIGN_OR_RETURN(
        pg::Result replan,
        tx.Execute("SELECT replan_id, calendar_id, policy_id, after_ticket FROM sla.replans "
                   "WHERE NOT done ORDER BY replan_id LIMIT 1 FOR UPDATE SKIP LOCKED"));
    if (replan.rows() == 0) return absl::OkStatus();
    SUNDESK_ASSIGN_OR_RETURN(int64_t replan_id, replan.Int64(0, "replan_id"));
    const std::string calendar_id(replan.Text(0, "calendar_id"));
    const std::string policy_id(replan.Text(0, "policy_id"));
    const bool by_calendar = !calendar_id.empty();
    SUNDESK_ASSIGN_OR_RETURN(
        pg::Result tickets,
        tx.Execute(absl::StrCat("SELECT ticket_id FROM sla.ticket_slas WHERE ",
                                by_calendar ? "calendar_id" : "policy_id",
                                " = $1 AND ticket_id > $2 ORDER BY ticket_id LIMIT $3 FOR UPDATE"),
                   {by_calendar ? calendar_id : policy_id,
                    std::string(replan.Text(0, "after_ticket")), limit}));
    for (int i = 0; i < tickets.rows(); ++i) {
      SUNDESK_RETURN_IF_ERROR(MutateLocked(tx, std::string(tickets.Text(i, 0)), mutate));
    }
    claimed = tickets.rows();
    return tx
        .Execute("UPDATE sla.replans SET after_ticket = $2, done = $3 WHERE replan_id = $1",
                 {replan_id,
                  claimed > 0 ? std::string(tickets.Text(claimed - 1, 0))
                              : std::string(replan.Text(0, "after_ticket")),
                  claimed < limit})
        .status();
  }));
  return claimed;
}

absl::StatusOr<std::map<ClockState, int64_t>> PgClockStore::CountClocks() {
  SUNDESK_ASSIGN_OR_RETURN(pg::Lease conn, pool_.Acquire());
  // As SlaClock::state(); canceled clocks are no longer measured.
  SUNDESK_ASSIGN_OR_RETURN(
      pg::Result r,
      conn->Execute("SELECT CASE WHEN breached THEN 4 WHEN met THEN 3 WHEN counting THEN 1 "
                    "ELSE 2 END AS state, count(*) AS n FROM sla.clocks "
                    "WHERE breached OR met OR NOT canceled GROUP BY 1"));
  std::map<ClockState, int64_t> out;
  for (ClockState s :
       {ClockState::kRunning, ClockState::kPaused, ClockState::kMet, ClockState::kBreached}) {
    out[s] = 0;
  }
  for (int i = 0; i < r.rows(); ++i) {
    SUNDESK_ASSIGN_OR_RETURN(int64_t state, r.Int64(i, "state"));
    SUNDESK_ASSIGN_OR_RETURN(int64_t n, r.Int64(i, "n"));
    out[static_cast<ClockState>(state)] = n;
  }
  return out;
}

absl::StatusOr<TicketSla> PgClockStore::Get(const std::string& ticket_id) {
  TicketSla sla;
  bool found = false;
  // One snapshot for the ticket row, its clocks and its ledger.
  SUNDESK_RETURN_IF_ERROR(pg::WithTransaction(
      pool_,
      [&](pg::Connection& tx) -> absl::Status {
        SUNDESK_ASSIGN_OR_RETURN(sla, Load(tx, ticket_id, /*lock=*/false, &found));
        return absl::OkStatus();
      },
      {.isolation = pg::Isolation::kRepeatableRead, .read_only = true}));
  if (!found || !sla.created) return absl::NotFoundError("ticket not seen");
  return sla;
}

}  // namespace sundesk::sla
