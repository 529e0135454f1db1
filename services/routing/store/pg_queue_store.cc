#include "services/routing/store/pg_queue_store.h"

#include <algorithm>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "libs/core/status.h"
#include "libs/pg/text_array.h"
#include "libs/pg/transaction.h"
#include "services/routing/store/pg_ticket_rows.h"
#include "services/routing/store/routing_events.h"

namespace sundesk::routing {
namespace {

constexpr absl::string_view kColumns = kTicketColumns;

absl::StatusOr<TicketCopy> CopyFromRow(const pg::Result& r, int row) {
  return TicketCopyFromRow(r, row);
}

// The copy of `ticket_id`, locked until the transaction ends; nullopt when unknown.
absl::StatusOr<std::optional<TicketCopy>> LockCopy(pg::Connection& tx,
                                                   absl::string_view ticket_id) {
  SUNDESK_ASSIGN_OR_RETURN(
      pg::Result r, tx.Execute(absl::StrCat("SELECT ", kColumns,
                                            " FROM routing.tickets t WHERE t.ticket_id = $1::uuid "
                                            "FOR UPDATE"),
                               {ticket_id}));
  if (r.rows() == 0) return std::optional<TicketCopy>();
  SUNDESK_ASSIGN_OR_RETURN(TicketCopy copy, CopyFromRow(r, 0));
  return std::optional<TicketCopy>(std::move(copy));
}

// A waiting ticket keeps its queued time (or gets `at`); one that does not wait has none.
constexpr absl::string_view kQueuedTime =
    "CASE WHEN $2::boolean THEN COALESCE(queued_time, $3::timestamptz) END";

// TicketQueued for `t`, now waiting at `version`, with the SLA deadline at risk if known, as
// a statement for the caller's transaction.
absl::StatusOr<pg::Statement> TicketQueuedStatement(IdGenerator& ids, const Clock& clock,
                                                    const TicketCopy& t, int64_t version,
                                                    std::optional<absl::Time> sla_deadline) {
  events::v1::TicketQueued e;
  e.set_language(t.language);
  e.set_priority(static_cast<common::v1::Priority>(t.priority));
  for (const std::string& skill : t.required_skills) e.add_required_skills(skill);
  if (sla_deadline.has_value()) {
    const int64_t seconds = absl::ToUnixSeconds(*sla_deadline);
    e.mutable_sla_deadline()->set_seconds(seconds);
    e.mutable_sla_deadline()->set_nanos(static_cast<int32_t>(
        (*sla_deadline - absl::FromUnixSeconds(seconds)) / absl::Nanoseconds(1)));
  }
  return RoutingEventStatement(ids, clock,
                               {.source = std::string(kRoutingSource),
                                .tenant_id = t.tenant_id,
                                .subject = t.ticket_id,
                                .sequence = version},
                               e, absl::StrCat("TicketQueued:", t.ticket_id, ":", version));
}

// TicketQueued for `t` written in `tx`, with the deadline at risk read there.
absl::Status WriteTicketQueued(pg::Connection& tx, IdGenerator& ids, const Clock& clock,
                               const TicketCopy& t, int64_t version) {
  SUNDESK_ASSIGN_OR_RETURN(
      pg::Result r,
      tx.Execute("SELECT deadline FROM routing.ticket_sla_at_risk WHERE ticket_id = $1::uuid",
                 {t.ticket_id}));
  std::optional<absl::Time> deadline;
  if (r.rows() > 0) {
    SUNDESK_ASSIGN_OR_RETURN(absl::Time d, r.Time(0, "deadline"));
    deadline = d;
  }
  SUNDESK_ASSIGN_OR_RETURN(pg::Statement insert,
                           TicketQueuedStatement(ids, clock, t, version, deadline));
  return tx.Execute(insert.sql, insert.params).status();
}

}  // namespace

absl::StatusOr<QueueStore::Applied> PgQueueStore::ApplyTicket(const TicketCopy& t, absl::Time at) {
  Applied applied;
  SUNDESK_RETURN_IF_ERROR(pg::WithTransaction(pool_, [&](pg::Connection& tx) -> absl::Status {
    applied = Applied{};
    SUNDESK_ASSIGN_OR_RETURN(applied.before, LockCopy(tx, t.ticket_id));
    if (applied.before.has_value() && applied.before->version >= t.version) return absl::OkStatus();
    applied.applied = true;
    const bool waits = WaitsForAgent(t.status, t.assignee_id);
    const bool waited = applied.before.has_value() &&
                        WaitsForAgent(applied.before->status, applied.before->assignee_id);
    // Queued: newly waiting, or re-queued by a priority or language change.
    if (waits && (!waited || applied.before->priority != t.priority ||
                  applied.before->language != t.language)) {
      SUNDESK_RETURN_IF_ERROR(WriteTicketQueued(tx, ids_, clock_, t, t.version));
    }
    const std::vector<pg::Param> params = {t.ticket_id, WaitsForAgent(t.status, t.assignee_id),
                                           at,          t.tenant_id,
                                           t.subject,   t.language,
                                           t.priority,  pg::Param::TextArray(t.required_skills),
                                           t.status,    t.assignee_id,
                                           t.version};
    if (!applied.before.has_value()) {
      // ON CONFLICT: a concurrent first insert of the same ticket (a redelivery racing).
      return tx
          .Execute(absl::StrCat("INSERT INTO routing.tickets (ticket_id, tenant_id, subject, "
                                "language, priority, required_skills, status, assignee_id, "
                                "version, queued_time) VALUES ($1::uuid, $4::uuid, $5, $6, $7, "
                                "$8::text[], $9, $10, $11, CASE WHEN $2::boolean THEN "
                                "$3::timestamptz END) ON CONFLICT (ticket_id) DO NOTHING"),
                   params)
          .status();
    }
    return tx
        .Execute(absl::StrCat("UPDATE routing.tickets SET tenant_id = $4::uuid, subject = $5, "
                              "language = $6, priority = $7, required_skills = $8::text[], "
                              "status = $9, assignee_id = $10, version = $11, queued_time = ",
                              kQueuedTime, " WHERE ticket_id = $1::uuid"),
                 params)
        .status();
  }));
  if (applied.applied && notifier_ != nullptr) notifier_->Notify();
  return applied;
}

absl::StatusOr<QueueStore::Applied> PgQueueStore::ApplyAssignee(absl::string_view ticket_id,
                                                                int64_t version,
                                                                absl::string_view assignee_id,
                                                                absl::Time at) {
  Applied applied;
  SUNDESK_RETURN_IF_ERROR(pg::WithTransaction(pool_, [&](pg::Connection& tx) -> absl::Status {
    applied = Applied{};
    SUNDESK_ASSIGN_OR_RETURN(applied.before, LockCopy(tx, ticket_id));
    // Unknown (its creation not seen yet) or not older: nothing to apply.
    if (!applied.before.has_value() || applied.before->version >= version) {
      return absl::OkStatus();
    }
    applied.applied = true;
    const TicketCopy& before = *applied.before;
    if (WaitsForAgent(before.status, assignee_id) &&
        !WaitsForAgent(before.status, before.assignee_id)) {
      SUNDESK_RETURN_IF_ERROR(WriteTicketQueued(tx, ids_, clock_, before, version));
    }
    return tx
        .Execute(absl::StrCat("UPDATE routing.tickets SET assignee_id = $4, version = $5, "
                              "queued_time = ",
                              kQueuedTime, " WHERE ticket_id = $1::uuid"),
                 {ticket_id, WaitsForAgent(applied.before->status, assignee_id), at, assignee_id,
                  version})
        .status();
  }));
  if (applied.applied && notifier_ != nullptr) notifier_->Notify();
  return applied;
}

namespace {

std::string TimeText(absl::Time t) {
  return absl::FormatTime("%Y-%m-%d %H:%M:%E6S+00", t, absl::UTCTimeZone());
}

// A ticket's row as the batch leaves it.
struct BatchRow {
  TicketCopy copy;
  std::optional<absl::Time> queued_time;
  bool changed = false;
};

}  // namespace

absl::StatusOr<std::vector<QueueStore::Applied>> PgQueueStore::ApplyAll(
    absl::Span<const QueueFact> facts) {
  std::vector<Applied> applied;
  bool wrote_events = false;
  SUNDESK_RETURN_IF_ERROR(pg::WithTransaction(pool_, [&](pg::Connection& tx) -> absl::Status {
    applied.assign(facts.size(), Applied{});
    wrote_events = false;
    std::vector<std::string> ids;
    for (const QueueFact& f : facts) ids.push_back(f.ticket_id());
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    const pg::Param id_array = pg::Param::TextArray(ids);
    // The batch's known tickets, locked in id order (two batches never wait for each other
    // in a cycle), and their SLA deadlines at risk.
    SUNDESK_ASSIGN_OR_RETURN(
        pg::Result r,
        tx.Execute(absl::StrCat("SELECT ", kColumns,
                                " FROM routing.tickets t WHERE t.ticket_id = ANY($1::uuid[]) "
                                "ORDER BY t.ticket_id FOR UPDATE"),
                   {id_array}));
    absl::flat_hash_map<std::string, BatchRow> rows;
    for (int i = 0; i < r.rows(); ++i) {
      BatchRow row;
      SUNDESK_ASSIGN_OR_RETURN(row.copy, CopyFromRow(r, i));
      if (!r.IsNull(i, "queued_time")) {
        SUNDESK_ASSIGN_OR_RETURN(absl::Time q, r.Time(i, "queued_time"));
        row.queued_time = q;
      }
      std::string id = row.copy.ticket_id;
      rows.emplace(std::move(id), std::move(row));
    }
    SUNDESK_ASSIGN_OR_RETURN(
        pg::Result s,
        tx.Execute("SELECT ticket_id::text AS ticket_id, deadline FROM routing.ticket_sla_at_risk "
                   "WHERE ticket_id = ANY($1::uuid[])",
                   {id_array}));
    absl::flat_hash_map<std::string, absl::Time> deadlines;
    for (int i = 0; i < s.rows(); ++i) {
      SUNDESK_ASSIGN_OR_RETURN(absl::Time d, s.Time(i, "deadline"));
      deadlines[std::string(s.Text(i, "ticket_id"))] = d;
    }
    std::set<std::string> deadlines_changed;
    std::vector<pg::Statement> writes;
    auto queued_event = [&](const TicketCopy& t, int64_t version) -> absl::Status {
      auto it = deadlines.find(t.ticket_id);
      SUNDESK_ASSIGN_OR_RETURN(
          pg::Statement st,
          TicketQueuedStatement(
              ids_, clock_, t, version,
              it == deadlines.end() ? std::nullopt : std::optional<absl::Time>(it->second)));
      writes.push_back(std::move(st));
      return absl::OkStatus();
    };
    for (size_t i = 0; i < facts.size(); ++i) {
      const QueueFact& f = facts[i];
      const std::string& id = f.ticket_id();
      auto it = rows.find(id);
      switch (f.kind) {
        case QueueFact::Kind::kSlaAtRisk: {
          auto d = deadlines.find(id);
          if (d == deadlines.end() || f.deadline < d->second) {
            deadlines[id] = f.deadline;
            deadlines_changed.insert(id);
          }
          applied[i].applied = true;
          break;
        }
        case QueueFact::Kind::kTicket: {
          const TicketCopy& t = f.ticket;
          if (it != rows.end() && it->second.copy.version >= t.version) break;
          Applied& a = applied[i];
          a.applied = true;
          if (it != rows.end()) a.before = it->second.copy;
          const bool waits = WaitsForAgent(t.status, t.assignee_id);
          const bool waited =
              a.before.has_value() && WaitsForAgent(a.before->status, a.before->assignee_id);
          if (waits &&
              (!waited || a.before->priority != t.priority || a.before->language != t.language)) {
            SUNDESK_RETURN_IF_ERROR(queued_event(t, t.version));
          }
          BatchRow& row = rows[id];
          const std::optional<absl::Time> kept = row.queued_time;
          row.copy = t;
          row.queued_time = waits ? std::optional<absl::Time>(kept.value_or(f.at)) : std::nullopt;
          row.changed = true;
          break;
        }
        case QueueFact::Kind::kAssignee: {
          // Unknown (its creation not seen yet) or not older: nothing to apply.
          if (it == rows.end() || it->second.copy.version >= f.version) break;
          BatchRow& row = it->second;
          Applied& a = applied[i];
          a.applied = true;
          a.before = row.copy;
          const bool waits = WaitsForAgent(row.copy.status, f.assignee_id);
          if (waits && !WaitsForAgent(row.copy.status, row.copy.assignee_id)) {
            SUNDESK_RETURN_IF_ERROR(queued_event(row.copy, f.version));
          }
          row.copy.assignee_id = f.assignee_id;
          row.copy.version = f.version;
          row.queued_time =
              waits ? std::optional<absl::Time>(row.queued_time.value_or(f.at)) : std::nullopt;
          row.changed = true;
          break;
        }
      }
    }
    // Every changed ticket in one statement; a row another writer stored meanwhile at the
    // same or a newer version stays (the version decides, as for one event).
    std::vector<std::string> t_id, t_tenant, t_subject, t_language, t_priority, t_skills, t_status,
        t_assignee, t_version, t_queued;
    for (const auto& [id, row] : rows) {
      if (!row.changed) continue;
      const TicketCopy& c = row.copy;
      t_id.push_back(c.ticket_id);
      t_tenant.push_back(c.tenant_id);
      t_subject.push_back(c.subject);
      t_language.push_back(c.language);
      t_priority.push_back(absl::StrCat(c.priority));
      // An array inside an array's element: its text form, cast per row in the statement.
      t_skills.push_back(pg::TextArrayLiteral(c.required_skills));
      t_status.push_back(absl::StrCat(c.status));
      t_assignee.push_back(c.assignee_id);
      t_version.push_back(absl::StrCat(c.version));
      t_queued.push_back(row.queued_time ? TimeText(*row.queued_time) : "");
    }
    std::vector<pg::Statement> statements;
    if (!t_id.empty()) {
      statements.push_back(
          {.sql = "INSERT INTO routing.tickets (ticket_id, tenant_id, subject, language, priority, "
                  "required_skills, status, assignee_id, version, queued_time) "
                  "SELECT u.id::uuid, u.tenant::uuid, u.subject, u.language, u.priority::int, "
                  "u.skills::text[], u.status::int, u.assignee, u.version::bigint, "
                  "NULLIF(u.queued, '')::timestamptz FROM unnest($1::text[], $2::text[], "
                  "$3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], "
                  "$9::text[], $10::text[]) AS u(id, tenant, subject, language, priority, skills, "
                  "status, assignee, version, queued) "
                  "ON CONFLICT (ticket_id) DO UPDATE SET tenant_id = EXCLUDED.tenant_id, "
                  "subject = EXCLUDED.subject, language = EXCLUDED.language, "
                  "priority = EXCLUDED.priority, required_skills = EXCLUDED.required_skills, "
                  "status = EXCLUDED.status, assignee_id = EXCLUDED.assignee_id, "
                  "version = EXCLUDED.version, queued_time = EXCLUDED.queued_time "
                  "WHERE routing.tickets.version < EXCLUDED.version",
           .params = {pg::Param::TextArray(t_id), pg::Param::TextArray(t_tenant),
                      pg::Param::TextArray(t_subject), pg::Param::TextArray(t_language),
                      pg::Param::TextArray(t_priority), pg::Param::TextArray(t_skills),
                      pg::Param::TextArray(t_status), pg::Param::TextArray(t_assignee),
                      pg::Param::TextArray(t_version), pg::Param::TextArray(t_queued)}});
    }
    if (!deadlines_changed.empty()) {
      std::vector<std::string> d_id, d_deadline;
      for (const std::string& id : deadlines_changed) {
        d_id.push_back(id);
        d_deadline.push_back(TimeText(deadlines.at(id)));
      }
      statements.push_back(
          {.sql = "INSERT INTO routing.ticket_sla_at_risk (ticket_id, deadline) "
                  "SELECT u.id::uuid, u.deadline::timestamptz FROM unnest($1::text[], $2::text[]) "
                  "AS u(id, deadline) ON CONFLICT (ticket_id) DO UPDATE "
                  "SET deadline = LEAST(ticket_sla_at_risk.deadline, EXCLUDED.deadline)",
           .params = {pg::Param::TextArray(d_id), pg::Param::TextArray(d_deadline)}});
    }
    wrote_events = !writes.empty();
    for (pg::Statement& w : writes) statements.push_back(std::move(w));
    if (statements.empty()) return absl::OkStatus();
    return tx.ExecuteAtomically(statements).status();
  }));
  if (wrote_events && notifier_ != nullptr) notifier_->Notify();
  return applied;
}

absl::Status PgQueueStore::SetSlaDeadline(absl::string_view ticket_id, absl::Time deadline) {
  SUNDESK_ASSIGN_OR_RETURN(pg::Lease conn, pool_.Acquire());
  return conn
      ->Execute(
          "INSERT INTO routing.ticket_sla_at_risk (ticket_id, deadline) "
          "VALUES ($1::uuid, $2) ON CONFLICT (ticket_id) DO UPDATE "
          "SET deadline = LEAST(ticket_sla_at_risk.deadline, EXCLUDED.deadline)",
          {ticket_id, deadline})
      .status();
}

absl::StatusOr<std::vector<std::pair<std::string, int64_t>>> PgQueueStore::DepthByLanguage() {
  SUNDESK_ASSIGN_OR_RETURN(pg::Lease conn, pool_.Acquire());
  SUNDESK_ASSIGN_OR_RETURN(pg::Result r,
                           conn->Execute("SELECT lower(language) AS language, count(*) AS depth "
                                         "FROM routing.tickets WHERE queued_time IS NOT NULL "
                                         "GROUP BY lower(language) ORDER BY 1"));
  std::vector<std::pair<std::string, int64_t>> depths;
  for (int row = 0; row < r.rows(); ++row) {
    SUNDESK_ASSIGN_OR_RETURN(int64_t depth, r.Int64(row, "depth"));
    depths.emplace_back(std::string(r.Text(row, "language")), depth);
  }
  return depths;
}

absl::StatusOr<std::vector<QueueEntry>> PgQueueStore::ListQueue(
    const QueueFilter& filter, const std::optional<std::vector<std::string>>& tenants,
    const std::optional<QueuePosition>& after, int limit) {
  std::vector<pg::Param> params;
  auto param = [&](pg::Param p) {
    params.push_back(std::move(p));
    return absl::StrCat("$", params.size());
  };
  std::vector<std::string> where = {"t.queued_time IS NOT NULL"};
  if (!filter.tenant_id.empty()) {
    where.push_back(absl::StrCat("t.tenant_id = ", param(filter.tenant_id), "::uuid"));
  }
  if (!filter.language.empty()) {
    where.push_back(absl::StrCat("lower(t.language) = lower(", param(filter.language), ")"));
  }
  if (tenants.has_value()) {
    where.push_back(
        absl::StrCat("t.tenant_id = ANY(", param(pg::Param::TextArray(*tenants)), "::uuid[])"));
  }
  constexpr absl::string_view kOrderKey =
      "COALESCE(s.deadline, 'infinity'::timestamptz), -t.priority, t.queued_time, t.ticket_id";
  if (after.has_value()) {
    where.push_back(absl::StrCat(
        "(", kOrderKey, ") > (",
        param(after->sla_deadline ? pg::Param(*after->sla_deadline) : pg::Param("infinity")),
        "::timestamptz, ", param(-after->priority), "::int, ", param(after->queued_time),
        "::timestamptz, ", param(after->ticket_id), "::uuid)"));
  }
  const std::string sql =
      absl::StrCat("SELECT ", kColumns,
                   ", s.deadline AS sla_deadline FROM routing.tickets t "
                   "LEFT JOIN routing.ticket_sla_at_risk s ON s.ticket_id = t.ticket_id WHERE ",
                   absl::StrJoin(where, " AND "), " ORDER BY ", kOrderKey, " LIMIT ", param(limit));
  SUNDESK_ASSIGN_OR_RETURN(pg::Lease conn, pool_.Acquire());
  SUNDESK_ASSIGN_OR_RETURN(pg::Result r, conn->Execute(sql, params));
  std::vector<QueueEntry> entries;
  entries.reserve(r.rows());
  for (int row = 0; row < r.rows(); ++row) {
    QueueEntry e;
    SUNDESK_ASSIGN_OR_RETURN(e.ticket, CopyFromRow(r, row));
    SUNDESK_ASSIGN_OR_RETURN(e.queued_time, r.Time(row, "queued_time"));
    if (!r.IsNull(row, "sla_deadline")) {
      SUNDESK_ASSIGN_OR_RETURN(absl::Time deadline, r.Time(row, "sla_deadline"));
      e.sla_deadline = deadline;
    }
    entries.push_back(std::move(e));
  }
  return entries;
}

}  // namespace sundesk::routing
