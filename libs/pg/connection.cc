#include "libs/pg/connection.h"

#include <libpq-fe.h>
#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "libs/core/log.h"
#include "libs/pg/errors.h"

namespace sundesk::pg {
namespace {

// libpq's messages end in a newline and continue on tab-indented lines.
std::string Clean(const char* message) {
  std::string s = absl::StrReplaceAll(message == nullptr ? "" : message, {{"\n\t", " "}});
  absl::StripAsciiWhitespace(&s);
  return absl::StrReplaceAll(s, {{"\n", "; "}});
}

// Waits until the socket is readable (or writable), or the deadline passes.
bool WaitSocket(int fd, bool for_write, absl::Time deadline) {
  while (true) {
    absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) return false;
    pollfd p{fd, static_cast<short>(for_write ? POLLOUT : POLLIN), 0};
    int ms = static_cast<int>(std::min<int64_t>(absl::ToInt64Milliseconds(left) + 1, 60'000));
    int r = poll(&p, 1, ms);
    if (r > 0) return true;
    if (r < 0 && errno != EINTR) return true;  // let libpq report the socket's error
  }
}

std::string SessionSetup(const ConnectOptions& options) {
  std::string sql = "SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD'";
  if (options.statement_timeout > absl::ZeroDuration()) {
    absl::StrAppend(&sql, "; SET statement_timeout = ",
                    std::max<int64_t>(1, absl::ToInt64Milliseconds(options.statement_timeout)));
  }
  return sql;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Connection>> Connection::Open(const ConnectOptions& options,
                                                             absl::Time deadline) {
  // expand_dbname=1: `dbname` may hold a whole conninfo string or URI.
  const char* keys[] = {"dbname", "fallback_application_name", nullptr};
  const char* values[] = {options.dsn.c_str(), "sundesk", nullptr};
  PGconn* raw = PQconnectStartParams(keys, values, /*expand_dbname=*/1);
  if (raw == nullptr) return absl::ResourceExhaustedError("pg: out of memory connecting");
  std::unique_ptr<Connection> conn(new Connection(raw, options.max_prepared_statements));
  if (PQstatus(raw) == CONNECTION_BAD) {
    return absl::UnavailableError(absl::StrCat("pg: cannot connect: ", Clean(PQerrorMessage(raw))));
  }
  PostgresPollingStatusType state = PGRES_POLLING_WRITING;
  while (state != PGRES_POLLING_OK) {
    if (state == PGRES_POLLING_FAILED) {
      return absl::UnavailableError(
          absl::StrCat("pg: cannot connect: ", Clean(PQerrorMessage(raw))));
    }
    // The socket can change between polls (libpq tries each host in turn).
    if (!WaitSocket(PQsocket(raw), state == PGRES_POLLING_WRITING, deadline)) {
      return absl::UnavailableError("pg: cannot connect: timed out");
    }
    state = PQconnectPoll(raw);
  }
  PQsetNoticeReceiver(raw, &Connection::OnNotice, conn.get());
  if (absl::Status st = conn->ExecuteScript(SessionSetup(options)); !st.ok()) return st;
  return conn;
}

Connection::~Connection() { PQfinish(conn_); }

void Connection::OnNotice(void* self, const pg_result* notice) {
  const char* severity = PQresultErrorField(notice, PG_DIAG_SEVERITY_NONLOCALIZED);
  std::string message = Clean(PQresultErrorMessage(notice));
  absl::string_view level = severity == nullptr ? "" : severity;
  // libpq hands an ERROR or FATAL that arrives while idle to the notice receiver. It is
  // the server saying why it is about to close the session (shutdown, terminated backend,
  // idle timeout); the close itself may arrive a moment later.
  if (level == "FATAL" || level == "PANIC" || level == "ERROR") {
    static_cast<Connection*>(self)->unusable_ = true;
    log::Info("pg: server is closing a session", {{"message", message}});
    return;
  }
  log::Debug("pg: server notice", {{"notice", message}});
}

absl::Status Connection::StatusFromFailedCall(absl::string_view what) const {
  std::string message = Clean(PQerrorMessage(conn_));
  if (PQstatus(conn_) != CONNECTION_OK) {
    return absl::UnavailableError(absl::StrCat("pg: connection lost during ", what, ": ", message));
  }
  return absl::InternalError(absl::StrCat("pg: ", what, " failed: ", message));
}

namespace {

// libpq's parallel arrays for one statement's parameters; points into the Params.
struct WireParams {
  explicit WireParams(absl::Span<const Param> params) {
    types.reserve(params.size());
    values.reserve(params.size());
    lengths.reserve(params.size());
    formats.reserve(params.size());
    for (const Param& p : params) {
      types.push_back(p.type());
      values.push_back(p.is_null() ? nullptr : p.value().data());
      lengths.push_back(static_cast<int>(p.value().size()));
      formats.push_back(p.is_binary() ? 1 : 0);
    }
  }
  int count() const { return static_cast<int>(types.size()); }
  // What identifies a prepared statement: its SQL and its parameters' types (a prepared
  // statement's types are fixed when it is prepared).
  std::string StatementKey(absl::string_view sql) const {
    std::string key(sql);
    key.push_back('\0');
    for (Oid t : types) absl::StrAppend(&key, t, ",");
    return key;
  }
  std::vector<Oid> types;
  std::vector<const char*> values;
  std::vector<int> lengths;
  std::vector<int> formats;
};

}  // namespace

const std::string* Connection::PreparedName(const std::string& key) const {
  auto it = prepared_.find(key);
  return it == prepared_.end() ? nullptr : &it->second;
}

std::string Connection::NameToPrepare(size_t in_flight) {
  if (static_cast<int64_t>(prepared_.size() + in_flight) >= max_prepared_) return "";
  return absl::StrCat("sundesk_", ++names_used_);
}

absl::StatusOr<Result> Connection::Execute(absl::string_view sql, absl::Span<const Param> params,
                                           ResultFormat result_format) {
  const int format = result_format == ResultFormat::kBinary ? 1 : 0;
  WireParams wire(params);
  std::string statement(sql);
  std::string key = wire.StatementKey(statement);
  const std::string* name = PreparedName(key);
  if (name == nullptr) {
    if (std::string fresh = NameToPrepare(); !fresh.empty()) {
      // A statement the server rejects (syntax, unknown table, failed transaction) fails
      // here exactly as it would unprepared, and is not remembered.
      absl::StatusOr<Result> prepared = TakeResult(
          PQprepare(conn_, fresh.c_str(), statement.c_str(), wire.count(), wire.types.data()));
      if (!prepared.ok()) return prepared.status();
      name = &(prepared_[key] = std::move(fresh));
    }
  }
  PGresult* raw =
      name != nullptr
          ? PQexecPrepared(conn_, name->c_str(), wire.count(), wire.values.data(),
                           wire.lengths.data(), wire.formats.data(), format)
          : PQexecParams(conn_, statement.c_str(), wire.count(), wire.types.data(),
                         wire.values.data(), wire.lengths.data(), wire.formats.data(), format);
  return TakeResult(raw);
}

absl::StatusOr<std::vector<Result>> Connection::ExecuteAtomically(
    absl::Span<const Statement> statements) {
  if (statements.empty()) return std::vector<Result>{};
  if (PQenterPipelineMode(conn_) != 1) return StatusFromFailedCall("entering pipeline mode");
  // Anything unexpected leaves the session in a state nobody should reuse.
  auto broken = [this](absl::string_view what) {
    unusable_ = true;
    return StatusFromFailedCall(what);
  };
  // What each request sent yields, in order: a statement's result, or the outcome of
  // preparing a statement not prepared before (remembered only once the server says OK).
  struct Pending {
    bool is_prepare;
    std::string key;  // for a prepare
  };
  std::vector<Pending> pending;
  pending.reserve(statements.size() * 2);
  absl::flat_hash_map<std::string, std::string> preparing;  // key -> name, this pipeline
  for (const Statement& s : statements) {
    WireParams wire(s.params);
    const int format = s.result_format == ResultFormat::kBinary ? 1 : 0;
    std::string key = wire.StatementKey(s.sql);
    const std::string* name = PreparedName(key);
    if (name == nullptr) {
      if (auto it = preparing.find(key); it != preparing.end()) {
        name = &it->second;
      } else if (std::string fresh = NameToPrepare(preparing.size()); !fresh.empty()) {
        if (PQsendPrepare(conn_, fresh.c_str(), s.sql.c_str(), wire.count(), wire.types.data()) !=
            1) {
          return broken("sending a pipelined prepare");
        }
        pending.push_back({.is_prepare = true, .key = key});
        name = &(preparing[key] = std::move(fresh));
      }
    }
    int sent = name != nullptr
                   ? PQsendQueryPrepared(conn_, name->c_str(), wire.count(), wire.values.data(),
                                         wire.lengths.data(), wire.formats.data(), format)
                   : PQsendQueryParams(conn_, s.sql.c_str(), wire.count(), wire.types.data(),
                                       wire.values.data(), wire.lengths.data(), wire.formats.data(),
                                       format);
    if (sent != 1) return broken("sending a pipelined statement");
    pending.push_back({.is_prepare = false, .key = ""});
  }
  if (PQpipelineSync(conn_) != 1) return broken("pipeline sync");

  std::vector<Result> results;
  results.reserve(statements.size());
  absl::Status first_error;
  // Each request yields one result and then nullptr; the sync point yields
  // PGRES_PIPELINE_SYNC once the implicit transaction has committed or rolled back. A
  // failed commit shows as an error before that.
  for (size_t i = 0; i < pending.size();) {
    PGresult* raw = PQgetResult(conn_);
    if (raw == nullptr) {
      ++i;  // the end of request i's results
      continue;
    }
    ExecStatusType status = PQresultStatus(raw);
    if (status == PGRES_PIPELINE_ABORTED) {
      PQclear(raw);
      continue;
    }
    if (status == PGRES_PIPELINE_SYNC) {
      PQclear(raw);
      return broken("pipeline: sync arrived before every result");
    }
    absl::StatusOr<Result> r = TakeResult(raw);
    if (!r.ok()) {
      if (first_error.ok()) first_error = r.status();
      if (PQstatus(conn_) != CONNECTION_OK) {
        unusable_ = true;
        return first_error;
      }
    } else if (pending[i].is_prepare) {
      // Prepared statements outlive transactions: this one exists even if the
      // transaction later rolls back.
      prepared_[pending[i].key] = preparing[pending[i].key];
    } else {
      results.push_back(*std::move(r));
    }
  }
  for (;;) {
    PGresult* raw = PQgetResult(conn_);
    if (raw == nullptr) {
      if (PQstatus(conn_) != CONNECTION_OK) return broken("pipeline: waiting for the commit");
      continue;
    }
    ExecStatusType status = PQresultStatus(raw);
    if (status == PGRES_PIPELINE_SYNC) {
      PQclear(raw);
      break;
    }
    absl::StatusOr<Result> r = TakeResult(raw);  // e.g. the commit itself failed
    if (!r.ok() && first_error.ok()) first_error = r.status();
    if (PQstatus(conn_) != CONNECTION_OK) {
      unusable_ = true;
      return first_error.ok() ? broken("pipeline") : first_error;
    }
  }
  if (PQexitPipelineMode(conn_) != 1) return broken("leaving pipeline mode");
  if (!first_error.ok()) return first_error;
  return results;
}

absl::Status Connection::ExecuteScript(absl::string_view sql) {
  std::string script(sql);
  return TakeResult(PQexec(conn_, script.c_str())).status();
}

absl::StatusOr<Result> Connection::TakeResult(pg_result* raw) {
  if (raw == nullptr) return StatusFromFailedCall("query");
  Result result(raw);
  switch (PQresultStatus(raw)) {
    case PGRES_COMMAND_OK:
    case PGRES_TUPLES_OK:
    case PGRES_EMPTY_QUERY:
      return result;
    case PGRES_COPY_IN:
    case PGRES_COPY_OUT:
    case PGRES_COPY_BOTH:
      unusable_ = true;
      return absl::UnimplementedError("pg: COPY is not supported through Execute");
    default:
      break;
  }
  const char* sqlstate = PQresultErrorField(raw, PG_DIAG_SQLSTATE);
  if (sqlstate == nullptr) {
    // Errors libpq makes itself (e.g. "server closed the connection unexpectedly") have
    // no SQLSTATE.
    if (PQstatus(conn_) != CONNECTION_OK) {
      return absl::UnavailableError(
          absl::StrCat("pg: connection lost: ", Clean(PQresultErrorMessage(raw))));
    }
    return absl::InternalError(absl::StrCat("pg: ", Clean(PQresultErrorMessage(raw))));
  }
  auto field = [raw](int code) {
    const char* v = PQresultErrorField(raw, code);
    return absl::string_view(v == nullptr ? "" : v);
  };
  return ServerError(sqlstate, field(PG_DIAG_MESSAGE_PRIMARY), field(PG_DIAG_MESSAGE_DETAIL),
                     field(PG_DIAG_CONSTRAINT_NAME));
}

bool Connection::healthy() const {
  if (unusable_ || PQstatus(conn_) != CONNECTION_OK) return false;
  PGTransactionStatusType tx = PQtransactionStatus(conn_);
  return tx != PQTRANS_ACTIVE && tx != PQTRANS_UNKNOWN;
}

bool Connection::in_transaction() const {
  PGTransactionStatusType tx = PQtransactionStatus(conn_);
  return tx == PQTRANS_INTRANS || tx == PQTRANS_INERROR;
}

bool Connection::StillConnected() {
  if (!healthy() || PQsocket(conn_) < 0) return false;
  // An idle session has nothing to read unless the server sent a notice or closed it (a
  // restart, pg_terminate_backend, idle timeout). Closing shows as a read error or EOF,
  // possibly only after a final error message has been consumed.
  for (int i = 0; i < 4; ++i) {
    pollfd p{PQsocket(conn_), POLLIN, 0};
    if (poll(&p, 1, 0) <= 0) return true;
    if (PQconsumeInput(conn_) == 0) return false;
    PQisBusy(conn_);  // parses what arrived, which may call OnNotice
    while (PGnotify* n = PQnotifies(conn_)) PQfreemem(n);
    if (!healthy()) return false;
  }
  return healthy();
}

int Connection::backend_pid() const { return PQbackendPID(conn_); }

std::string Connection::error_message() const { return Clean(PQerrorMessage(conn_)); }

std::string Connection::QuoteIdentifier(absl::string_view name) const {
  char* quoted = PQescapeIdentifier(conn_, name.data(), name.size());
  if (quoted == nullptr) {  // only for invalid encoding: quote by hand
    return absl::StrCat("\"", absl::StrReplaceAll(name, {{"\"", "\"\""}}), "\"");
  }
  std::string out(quoted);
  PQfreemem(quoted);
  return out;
}

}  // namespace sundesk::pg
