#include "services/ticket/store/pg_ticket_store.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "libs/core/status.h"
#include "libs/kafka/outbox.h"
#include "libs/pg/errors.h"
#include "libs/pg/transaction.h"
#include "services/ticket/domain/ticket_rules.h"
#include "services/ticket/domain/ticket_service.h"
#include "services/ticket/store/ticket_proto.h"

namespace sundesk::ticket {
namespace {

constexpr char kSchema[] = "ticket";

constexpr char kTicketColumns[] =
    "ticket_id, tenant_id, subject, description, requester_external_id, requester_name, "
    "requester_email, requester_language, requester_time_zone, channel, priority, language, "
    "category, required_skills, tags, custom_fields, status, assignee_id, version, create_time, "
    "update_time, first_response_time, solve_time";

constexpr char kCommentColumns[] =
    "comment_id, ticket_id, tenant_id, version, body, public, author_kind, author_id, "
    "create_time";

std::vector<pg::Param> TicketParams(const Ticket& t) {
  return {t.ticket_id,
          t.tenant_id,
          t.subject,
          t.description,
          t.requester.external_id,
          t.requester.name,
          t.requester.email,
          t.requester.language,
          t.requester.time_zone,
          static_cast<int>(t.channel),
          static_cast<int>(t.priority),
          t.language,
          t.category,
          JsonStringList(t.required_skills),
          JsonStringList(t.tags),
          JsonStringMap(t.custom_fields),
          static_cast<int>(t.status),
          t.assignee_id.empty() ? pg::Param::Null() : pg::Param(t.assignee_id),
          t.version,
          t.create_time,
          t.update_time,
          t.first_response_time,
          t.solve_time};
}

absl::StatusOr<std::vector<std::string>> ParseList(absl::string_view json) {
  google::protobuf::ListValue list;
  if (!google::protobuf::util::JsonStringToMessage(std::string(json), &list).ok()) {
    return absl::InternalError(absl::StrCat("ticket store: malformed JSON list ", json));
  }
  std::vector<std::string> out;
  for (const auto& v : list.values()) out.push_back(v.string_value());
  return out;
}

absl::StatusOr<std::map<std::string, std::string>> ParseMap(absl::string_view json) {
  google::protobuf::Struct object;
  if (!google::protobuf::util::JsonStringToMessage(std::string(json), &object).ok()) {
    return absl::InternalError(absl::StrCat("ticket store: malformed JSON object ", json));
  }
  std::map<std::string, std::string> out;
  for (const auto& [k, v] : object.fields()) out[k] = v.string_value();
  return out;
}

absl::StatusOr<std::optional<absl::Time>> OptionalTime(const pg::Result& r, int row,
                                                       absl::string_view column) {
  if (r.IsNull(row, column)) return std::nullopt;
  SUNDESK_ASSIGN_OR_RETURN(absl::Time t, r.Time(row, column));
  return t;
}

absl::StatusOr<Ticket> RowToTicket(const pg::Result& r, int row) {
  Ticket t;
  t.ticket_id = std::string(r.Text(row, "ticket_id"));
  t.tenant_id = std::string(r.Text(row, "tenant_id"));
  t.subject = std::string(r.Text(row, "subject"));
  t.description = std::string(r.Text(row, "description"));
  t.requester.external_id = std::string(r.Text(row, "requester_external_id"));
  t.requester.name = std::string(r.Text(row, "requester_name"));
  t.requester.email = std::string(r.Text(row, "requester_email"));
  t.requester.language = std::string(r.Text(row, "requester_language"));
  t.requester.time_zone = std::string(r.Text(row, "requester_time_zone"));
  SUNDESK_ASSIGN_OR_RETURN(int64_t channel, r.Int64(row, "channel"));
  SUNDESK_ASSIGN_OR_RETURN(int64_t priority, r.Int64(row, "priority"));
  SUNDESK_ASSIGN_OR_RETURN(int64_t status, r.Int64(row, "status"));
  t.channel = static_cast<Channel>(channel);
  t.priority = static_cast<Priority>(priority);
  t.status = static_cast<TicketStatus>(status);
  t.language = std::string(r.Text(row, "language"));
  t.category = std::string(r.Text(row, "category"));
  SUNDESK_ASSIGN_OR_RETURN(t.required_skills, ParseList(r.Text(row, "required_skills")));
  SUNDESK_ASSIGN_OR_RETURN(t.tags, ParseList(r.Text(row, "tags")));
  SUNDESK_ASSIGN_OR_RETURN(t.custom_fields, ParseMap(r.Text(row, "custom_fields")));
  t.assignee_id = std::string(r.Text(row, "assignee_id"));
  SUNDESK_ASSIGN_OR_RETURN(t.version, r.Int64(row, "version"));
  SUNDESK_ASSIGN_OR_RETURN(t.create_time, r.Time(row, "create_time"));
  SUNDESK_ASSIGN_OR_RETURN(t.update_time, r.Time(row, "update_time"));
  SUNDESK_ASSIGN_OR_RETURN(t.first_response_time, OptionalTime(r, row, "first_response_time"));
  SUNDESK_ASSIGN_OR_RETURN(t.solve_time, OptionalTime(r, row, "solve_time"));
  return t;
}

absl::StatusOr<Comment> RowToComment(const pg::Result& r, int row) {
  Comment c;
  c.comment_id = std::string(r.Text(row, "comment_id"));
  c.ticket_id = std::string(r.Text(row, "ticket_id"));
  c.tenant_id = std::string(r.Text(row, "tenant_id"));
  SUNDESK_ASSIGN_OR_RETURN(c.version, r.Int64(row, "version"));
  c.body = std::string(r.Text(row, "body"));
  SUNDESK_ASSIGN_OR_RETURN(c.is_public, r.Bool(row, "public"));
  SUNDESK_ASSIGN_OR_RETURN(int64_t kind, r.Int64(row, "author_kind"));
  c.author_kind = static_cast<AuthorKind>(kind);
  c.author_id = std::string(r.Text(row, "author_id"));
  SUNDESK_ASSIGN_OR_RETURN(c.create_time, r.Time(row, "create_time"));
  return c;
}

absl::StatusOr<std::optional<Ticket>> SelectTicket(pg::Connection& conn, const std::string& id,
                                                   bool for_update) {
  SUNDESK_ASSIGN_OR_RETURN(pg::Result r,
                           conn.Execute(absl::StrCat("SELECT ", kTicketColumns,
                                                     " FROM ticket.tickets WHERE ticket_id = $1",
                                                     for_update ? " FOR UPDATE" : ""),
                                        {id}));
  if (r.rows() == 0) return std::nullopt;
  return RowToTicket(r, 0);
}

std::string ChangesJson(const std::vector<FieldChange>& changes) {
  std::string out = "[";
  for (size_t i = 0; i < changes.size(); ++i) {
    absl::StrAppend(&out, i ? "," : "", "{\"field\":", JsonQuote(changes[i].field),
                    ",\"old\":", changes[i].old_value, ",\"new\":", changes[i].new_value, "}");
  }
  return out + "]";
}

// Writes everything a change commits; the ticket row is already locked (or new).
// The statements of one TicketWrite: the ticket row (INSERT, or UPDATE of the version
// before), the comment, the history row, and the event in the outbox.
std::vector<pg::Statement> WriteStatements(const TicketWrite& w, bool insert) {
  std::vector<pg::Statement> out;
  std::vector<pg::Param> params = TicketParams(w.ticket);
  if (insert) {
    out.push_back({absl::StrCat("INSERT INTO ticket.tickets (", kTicketColumns,
                                ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, "
                                "$14, $15, $16, $17, $18, $19, $20, $21, $22, $23)"),
                   std::move(params)});
  } else {
    params.emplace_back(w.ticket.version - 1);
    out.push_back({absl::StrCat("UPDATE ticket.tickets SET (", kTicketColumns,
                                ") = ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, "
                                "$14, $15, $16, $17, $18, $19, $20, $21, $22, $23) "
                                "WHERE ticket_id = $1 AND version = $24"),
                   std::move(params)});
  }
  if (w.comment) {
    const Comment& c = *w.comment;
    out.push_back({absl::StrCat("INSERT INTO ticket.ticket_comments (", kCommentColumns,
                                ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"),
                   {c.comment_id, c.ticket_id, c.tenant_id, c.version, c.body, c.is_public,
                    static_cast<int>(c.author_kind), c.author_id, c.create_time}});
  }
  const HistoryEntry& h = w.history;
  out.push_back(
      {"INSERT INTO ticket.ticket_history (ticket_id, version, tenant_id, time, "
       "actor_role, actor_key_id, actor_agent_id, action, changes, comment_id, "
       "event_id, internal) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb, $10, "
       "$11, $12)",
       {w.ticket.ticket_id, w.ticket.version, w.ticket.tenant_id, h.time,
        static_cast<int>(h.actor.role), h.actor.key_id, h.actor.agent_id, h.action,
        ChangesJson(h.changes), h.comment_id.empty() ? pg::Param::Null() : pg::Param(h.comment_id),
        h.event_id, h.internal}});
  out.push_back(kafka::OutboxEventStatement(kSchema, kTicketEventTopic, EventToProto(w)));
  return out;
}

// Writes `w` inside the caller's transaction, in one round trip.
absl::Status CommitWrite(pg::Connection& tx, const TicketWrite& w, bool insert) {
  SUNDESK_ASSIGN_OR_RETURN(std::vector<pg::Result> results,
                           tx.ExecuteAtomically(WriteStatements(w, insert)));
  if (!insert && results.front().affected_rows() != 1) {
    return absl::InternalError("ticket store: the locked ticket changed underneath");
  }
  return absl::OkStatus();
}

// An idempotency record for `resource_id`. Any record of the same key, live or expired,
// makes the INSERT fail on idempotency_records_pkey.
pg::Statement InsertRecord(const std::string& tenant_id, const std::string& scope,
                           const IdempotencyRecord& record, const std::string& resource_id) {
  return {
      "INSERT INTO ticket.idempotency_records (tenant_id, scope, request_id, "
      "fingerprint, resource_id, expire_time) VALUES ($1, $2, $3, $4, $5, $6)",
      {tenant_id, scope, record.request_id, record.fingerprint, resource_id, record.expire_time}};
}

// The record, replacing an expired one of the same key (a live one makes the INSERT fail
// on idempotency_records_pkey).
std::vector<pg::Statement> RecordStatements(const std::string& tenant_id, const std::string& scope,
                                            const IdempotencyRecord& record,
                                            const std::string& resource_id, absl::Time now) {
  std::vector<pg::Statement> out;
  out.push_back(
      {"DELETE FROM ticket.idempotency_records WHERE tenant_id = $1 AND scope = $2 "
       "AND request_id = $3 AND expire_time <= $4",
       {tenant_id, scope, record.request_id, now}});
  out.push_back(InsertRecord(tenant_id, scope, record, resource_id));
  return out;
}

// A live idempotency record: its fingerprint and the resource it names.
absl::StatusOr<std::optional<std::pair<std::string, std::string>>> FindRecord(
    pg::Connection& conn, const std::string& tenant_id, const std::string& scope,
    const std::string& request_id, absl::Time now) {
  SUNDESK_ASSIGN_OR_RETURN(
      pg::Result r,
      conn.Execute("SELECT fingerprint, resource_id FROM ticket.idempotency_records "
                   "WHERE tenant_id = $1 AND scope = $2 AND request_id = $3 AND expire_time > $4",
                   {tenant_id, scope, request_id, now}));
  if (r.rows() == 0) return std::nullopt;
  return std::make_pair(std::string(r.Text(0, 0)), std::string(r.Text(0, 1)));
}

absl::Status PutRecord(pg::Connection& tx, const std::string& tenant_id, const std::string& scope,
                       const IdempotencyRecord& record, const std::string& resource_id,
                       absl::Time now) {
  return tx.ExecuteAtomically(RecordStatements(tenant_id, scope, record, resource_id, now))
      .status();
}

absl::StatusOr<std::string> ReadTenantDefaultLanguage(pg::Pool& pool,
                                                      const std::string& tenant_id) {
  SUNDESK_ASSIGN_OR_RETURN(pg::Lease conn, pool.Acquire());
  SUNDESK_ASSIGN_OR_RETURN(
      pg::Result r,
      conn->Execute("SELECT default_language FROM ticket.tenants WHERE tenant_id = $1",
                    {tenant_id}));
  if (r.rows() == 0) return absl::NotFoundError("tenant_id: no such tenant");
  return std::string(r.Text(0, 0));
}

}  // namespace

absl::StatusOr<std::string> PgTicketStore::TenantDefaultLanguage(const std::string& tenant_id) {
  // Freshness of a cache entry, not domain time: the wall clock is right here.
  const absl::Time now = absl::Now();
  {
    absl::MutexLock lock(&cache_mu_);
    auto it = default_languages_.find(tenant_id);
    if (it != default_languages_.end() && now - it->second.fetched < kTenantCacheTtl) {
      return it->second.language;
    }
  }
  SUNDESK_ASSIGN_OR_RETURN(std::string language, ReadTenantDefaultLanguage(pool_, tenant_id));
  absl::MutexLock lock(&cache_mu_);
  if (default_languages_.size() >= 100'000) default_languages_.clear();  // bound the memory
  default_languages_[tenant_id] = {.language = language, .fetched = now};
  return language;
}

std::vector<pg::Statement> PgTicketStore::CreateStatements(
    const TicketWrite& created, const std::optional<IdempotencyRecord>& idempotency) {
  // The common case, in one round trip: record, ticket, history and event as one atomic
  // unit, committed together with other creates in flight. Any record of the same
  // request_id fails it on the record's primary key; FinishCreate then reads what that
  // request created or, if the record had expired, replaces it.
  std::vector<pg::Statement> statements;
  if (idempotency) {
    statements.push_back(
        InsertRecord(created.ticket.tenant_id, "create", *idempotency, created.ticket.ticket_id));
  }
  for (auto& s : WriteStatements(created, /*insert=*/true)) statements.push_back(std::move(s));
  // One-row INSERTs all: a group of creates goes to PostgreSQL as one multi-row INSERT per
  // table.
  for (auto& s : statements) s.merge_rows = true;
  return statements;
}

bool PgTicketStore::RequestIdTaken(const absl::Status& status,
                                   const std::optional<IdempotencyRecord>& idempotency) {
  return idempotency && absl::IsAlreadyExists(status) &&
         pg::ConstraintName(status) == "idempotency_records_pkey";
}

absl::StatusOr<StoredTicket> PgTicketStore::CreateTicket(
    const TicketWrite& created, const std::optional<IdempotencyRecord>& idempotency,
    absl::Time now) {
  absl::Status status = creates_.Commit(CreateStatements(created, idempotency)).status();
  return FinishCreate(std::move(status), created, idempotency, now);
}

void PgTicketStore::CreateTicketAsync(TicketWrite created,
                                      std::optional<IdempotencyRecord> idempotency, absl::Time now,
                                      CreateDone done) {
  std::vector<pg::Statement> statements = CreateStatements(created, idempotency);
  creates_.CommitAsync(
      std::move(statements),
      [this, created = std::move(created), idempotency = std::move(idempotency), now,
       done = std::move(done)](absl::StatusOr<std::vector<pg::Result>> outcome) mutable {
        if (outcome.ok() || !RequestIdTaken(outcome.status(), idempotency) ||
            blocking_work_ == nullptr) {
          std::move(done)(FinishCreate(outcome.status(), created, idempotency, now));
          return;
        }
        // FinishCreate's transaction blocks: not on a group-commit writer thread.
        blocking_work_->Schedule([this, status = outcome.status(), created = std::move(created),
                                  idempotency = std::move(idempotency), now,
                                  done = std::move(done)]() mutable {
          std::move(done)(FinishCreate(status, created, idempotency, now));
        });
      });
}

absl::StatusOr<StoredTicket> PgTicketStore::FinishCreate(
    absl::Status status, const TicketWrite& created,
    const std::optional<IdempotencyRecord>& idempotency, absl::Time now) {
  if (status.ok()) {
    Committed();
    return StoredTicket{.ticket = created.ticket};
  }
  if (!RequestIdTaken(status, idempotency)) return status;
  const std::string& tenant = created.ticket.tenant_id;
  // Two duplicates racing both miss the record; the second's INSERT then waits for the
  // first's commit and fails on the primary key, and its next attempt reads the record.
  for (int attempt = 0; attempt < 3; ++attempt) {
    std::optional<StoredTicket> replay;
    absl::Status tx_status = pg::WithTransaction(pool_, [&](pg::Connection& tx) -> absl::Status {
      replay.reset();
      if (idempotency) {
        SUNDESK_ASSIGN_OR_RETURN(auto record,
                                 FindRecord(tx, tenant, "create", idempotency->request_id, now));
        if (record) {
          SUNDESK_ASSIGN_OR_RETURN(std::optional<Ticket> ticket,
                                   SelectTicket(tx, record->second, false));
          if (!ticket) return absl::InternalError("ticket store: record names a missing ticket");
          replay = StoredTicket{
              .ticket = *std::move(ticket), .replayed = true, .fingerprint = record->first};
          return absl::OkStatus();
        }
        SUNDESK_RETURN_IF_ERROR(
            PutRecord(tx, tenant, "create", *idempotency, created.ticket.ticket_id, now));
      }
      return CommitWrite(tx, created, /*insert=*/true);
    });
    if (tx_status.ok()) {
      Committed();
      return replay ? *std::move(replay) : StoredTicket{.ticket = created.ticket};
    }
    if (RequestIdTaken(tx_status, idempotency)) continue;
    return tx_status;
  }
  return absl::AbortedError("request_id: concurrent duplicates kept colliding; retry");
}

absl::StatusOr<std::optional<Ticket>> PgTicketStore::GetTicket(const std::string& ticket_id) {
  SUNDESK_ASSIGN_OR_RETURN(pg::Lease conn, pool_.Acquire());
  return SelectTicket(*conn, ticket_id, false);
}

absl::StatusOr<Ticket> PgTicketStore::ChangeTicket(const std::string& ticket_id, Change change) {
  Ticket result;
  SUNDESK_RETURN_IF_ERROR(pg::WithTransaction(pool_, [&](pg::Connection& tx) -> absl::Status {
    SUNDESK_ASSIGN_OR_RETURN(std::optional<Ticket> current, SelectTicket(tx, ticket_id, true));
    if (!current) return TicketNotFound(ticket_id);
    SUNDESK_ASSIGN_OR_RETURN(std::optional<TicketWrite> write, change(*current));
    if (!write) {
      result = *std::move(current);
      return absl::OkStatus();
    }
    SUNDESK_RETURN_IF_ERROR(CommitWrite(tx, *write, /*insert=*/false));
    result = write->ticket;
    return absl::OkStatus();
  }));
  Committed();
  return result;
}

absl::StatusOr<StoredComment> PgTicketStore::AddComment(
    const std::string& ticket_id, const std::optional<IdempotencyRecord>& idempotency,
    absl::Time now, Change change) {
  StoredComment result;
  SUNDESK_RETURN_IF_ERROR(pg::WithTransaction(pool_, [&](pg::Connection& tx) -> absl::Status {
    // The ticket's row lock also serializes duplicates of one comment request.
    SUNDESK_ASSIGN_OR_RETURN(std::optional<Ticket> current, SelectTicket(tx, ticket_id, true));
    if (!current) return TicketNotFound(ticket_id);
    SUNDESK_ASSIGN_OR_RETURN(std::optional<TicketWrite> write, change(*current));
    if (!write || !write->comment) return absl::InternalError("ticket store: no comment");
    const std::string scope = absl::StrCat("comment:", ticket_id);
    if (idempotency) {
      SUNDESK_ASSIGN_OR_RETURN(
          auto record, FindRecord(tx, current->tenant_id, scope, idempotency->request_id, now));
      if (record) {
        SUNDESK_ASSIGN_OR_RETURN(
            pg::Result r,
            tx.Execute(absl::StrCat("SELECT ", kCommentColumns,
                                    " FROM ticket.ticket_comments WHERE comment_id = $1"),
                       {record->second}));
        if (r.rows() == 0) return absl::InternalError("ticket store: record names no comment");
        SUNDESK_ASSIGN_OR_RETURN(result.comment, RowToComment(r, 0));
        result.replayed = true;
        result.fingerprint = record->first;
        return absl::OkStatus();
      }
      SUNDESK_RETURN_IF_ERROR(
          PutRecord(tx, current->tenant_id, scope, *idempotency, write->comment->comment_id, now));
    }
    SUNDESK_RETURN_IF_ERROR(CommitWrite(tx, *write, /*insert=*/false));
    result = StoredComment{.comment = *write->comment};
    return absl::OkStatus();
  }));
  Committed();
  return result;
}

absl::StatusOr<std::vector<Ticket>> PgTicketStore::ListTickets(const TicketQuery& q) {
  std::vector<pg::Param> params;
  std::string where = "TRUE";
  auto add = [&](absl::string_view condition, pg::Param value) {
    params.push_back(std::move(value));
    absl::StrAppend(&where, " AND ", condition, " $", params.size());
  };
  const TicketFilter& f = q.filter;
  if (!f.tenant_id.empty()) add("tenant_id =", f.tenant_id);
  if (f.status != TicketStatus::kUnspecified) add("status =", static_cast<int>(f.status));
  if (f.priority != Priority::kUnspecified) add("priority =", static_cast<int>(f.priority));
  if (!f.assignee_id.empty()) add("assignee_id =", f.assignee_id);
  if (f.unassigned) absl::StrAppend(&where, " AND assignee_id IS NULL");
  if (!f.language.empty()) add("language =", f.language);
  if (!f.tag.empty()) {
    params.emplace_back(JsonStringList({f.tag}));
    absl::StrAppend(&where, " AND tags @> $", params.size(), "::jsonb");
  }
  if (f.created_after) add("create_time >=", *f.created_after);
  if (f.created_before) add("create_time <", *f.created_before);
  const char* column = q.order == TicketOrder::kCreateTime   ? "create_time"
                       : q.order == TicketOrder::kUpdateTime ? "update_time"
                                                             : "priority";
  const char* direction = q.descending ? "DESC" : "ASC";
  if (q.after) {
    if (q.order == TicketOrder::kPriority) {
      params.emplace_back(q.after->first);
    } else {
      params.emplace_back(absl::FromUnixMicros(q.after->first));
    }
    params.emplace_back(q.after->second);
    absl::StrAppend(&where, " AND (", column, ", ticket_id) ", q.descending ? "<" : ">", " ($",
                    params.size() - 1, ", $", params.size(), "::uuid)");
  }
  params.emplace_back(q.limit);
  const std::string sql =
      absl::StrCat("SELECT ", kTicketColumns, " FROM ticket.tickets WHERE ", where, " ORDER BY ",
                   column, " ", direction, ", ticket_id ", direction, " LIMIT $", params.size());
  SUNDESK_ASSIGN_OR_RETURN(pg::Lease conn, pool_.Acquire());
  SUNDESK_ASSIGN_OR_RETURN(pg::Result r, conn->Execute(sql, params));
  std::vector<Ticket> out;
  out.reserve(r.rows());
  for (int i = 0; i < r.rows(); ++i) {
    SUNDESK_ASSIGN_OR_RETURN(Ticket t, RowToTicket(r, i));
    out.push_back(std::move(t));
  }
  return out;
}

absl::StatusOr<std::vector<Comment>> PgTicketStore::ListComments(const std::string& ticket_id,
                                                                 bool public_only,
                                                                 int64_t after_version, int limit) {
  SUNDESK_ASSIGN_OR_RETURN(pg::Lease conn, pool_.Acquire());
  SUNDESK_ASSIGN_OR_RETURN(
      pg::Result r,
      conn->Execute(absl::StrCat("SELECT ", kCommentColumns,
                                 " FROM ticket.ticket_comments WHERE ticket_id = $1 AND version > "
                                 "$2",
                                 public_only ? " AND public" : "", " ORDER BY version LIMIT $3"),
                    {ticket_id, after_version, limit}));
  std::vector<Comment> out;
  for (int i = 0; i < r.rows(); ++i) {
    SUNDESK_ASSIGN_OR_RETURN(Comment c, RowToComment(r, i));
    out.push_back(std::move(c));
  }
  return out;
}

absl::StatusOr<std::vector<HistoryEntry>> PgTicketStore::ListHistory(const std::string& ticket_id,
                                                                     bool include_internal,
                                                                     int64_t after_version,
                                                                     int limit) {
  SUNDESK_ASSIGN_OR_RETURN(pg::Lease conn, pool_.Acquire());
  SUNDESK_ASSIGN_OR_RETURN(
      pg::Result r,
      conn->Execute(
          absl::StrCat(
              "SELECT h.version, h.time, h.actor_role, h.actor_key_id, h.actor_agent_id, "
              "h.action, h.comment_id, h.event_id, h.internal, c.field, c.old_value, "
              "c.new_value FROM (SELECT * FROM ticket.ticket_history WHERE ticket_id = $1 AND "
              "version > $2",
              include_internal ? "" : " AND NOT internal",
              " ORDER BY version LIMIT $3) h LEFT JOIN LATERAL (SELECT e.value->>'field' AS "
              "field, (e.value->'old')::text AS old_value, (e.value->'new')::text AS new_value, "
              "e.ord FROM jsonb_array_elements(h.changes) WITH ORDINALITY e(value, ord)) c ON "
              "TRUE ORDER BY h.version, c.ord"),
          {ticket_id, after_version, limit}));
  std::vector<HistoryEntry> out;
  for (int i = 0; i < r.rows(); ++i) {
    SUNDESK_ASSIGN_OR_RETURN(int64_t version, r.Int64(i, "version"));
    if (out.empty() || out.back().version != version) {
      HistoryEntry h;
      h.ticket_id = ticket_id;
      h.version = version;
      SUNDESK_ASSIGN_OR_RETURN(h.time, r.Time(i, "time"));
      SUNDESK_ASSIGN_OR_RETURN(int64_t role, r.Int64(i, "actor_role"));
      h.actor.role = static_cast<CallerRole>(role);
      h.actor.key_id = std::string(r.Text(i, "actor_key_id"));
      h.actor.agent_id = std::string(r.Text(i, "actor_agent_id"));
      h.action = std::string(r.Text(i, "action"));
      h.comment_id = std::string(r.Text(i, "comment_id"));
      h.event_id = std::string(r.Text(i, "event_id"));
      SUNDESK_ASSIGN_OR_RETURN(h.internal, r.Bool(i, "internal"));
      out.push_back(std::move(h));
    }
    if (!r.IsNull(i, "field")) {
      out.back().changes.push_back({.field = std::string(r.Text(i, "field")),
                                    .old_value = std::string(r.Text(i, "old_value")),
                                    .new_value = std::string(r.Text(i, "new_value"))});
    }
  }
  return out;
}

absl::StatusOr<int64_t> PgTicketStore::PurgeExpiredIdempotencyRecords(absl::Time now, int batch) {
  SUNDESK_ASSIGN_OR_RETURN(pg::Lease conn, pool_.Acquire());
  // In batches (idempotency_records_expire finds them), so no purge holds locks for long.
  SUNDESK_ASSIGN_OR_RETURN(
      pg::Result r,
      conn->Execute("DELETE FROM ticket.idempotency_records WHERE ctid IN (SELECT ctid FROM "
                    "ticket.idempotency_records WHERE expire_time <= $1 LIMIT $2)",
                    {now, batch}));
  return r.affected_rows();
}

}  // namespace sundesk::ticket
