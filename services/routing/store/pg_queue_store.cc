#include "services/routing/store/pg_queue_store.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "libs/core/status.h"
#include "libs/pg/transaction.h"
#include "services/routing/store/pg_text_array.h"
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

// TicketQueued for `t`, now waiting at `version`, with the SLA deadline at risk if known.
absl::Status WriteTicketQueued(pg::Connection& tx, IdGenerator& ids, const Clock& clock,
                               const TicketCopy& t, int64_t version) {
  events::v1::TicketQueued e;
  e.set_language(t.language);
  e.set_priority(static_cast<common::v1::Priority>(t.priority));
  for (const std::string& skill : t.required_skills) e.add_required_skills(skill);
  SUNDESK_ASSIGN_OR_RETURN(
      pg::Result r,
      tx.Execute("SELECT deadline FROM routing.ticket_sla_at_risk WHERE ticket_id = $1::uuid",
                 {t.ticket_id}));
  if (r.rows() > 0) {
    SUNDESK_ASSIGN_OR_RETURN(absl::Time deadline, r.Time(0, "deadline"));
    const int64_t seconds = absl::ToUnixSeconds(deadline);
    e.mutable_sla_deadline()->set_seconds(seconds);
    e.mutable_sla_deadline()->set_nanos(
        static_cast<int32_t>((deadline - absl::FromUnixSeconds(seconds)) / absl::Nanoseconds(1)));
  }
  return WriteRoutingEvent(tx, ids, clock,
                           {.source = std::string(kRoutingSource),
                            .tenant_id = t.tenant_id,
                            .subject = t.ticket_id,
                            .sequence = version},
                           e, absl::StrCat("TicketQueued:", t.ticket_id, ":", version));
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
                                           t.priority,  ToTextArray(t.required_skills),
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
    where.push_back(absl::StrCat("t.tenant_id = ANY(", param(ToTextArray(*tenants)), "::uuid[])"));
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
