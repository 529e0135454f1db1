#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "libs/pg/param.h"
#include "libs/pg/result.h"

struct pg_conn;

namespace sundesk::pg {

// One statement of a pipeline: SQL with `$1..$n` and its parameters.
struct Statement {
  std::string sql;
  std::vector<Param> params;
  // For GroupCommitter: the statement is a one-row `INSERT INTO t (columns) VALUES
  // ($1, ..., $n)` (the VALUES tuple last: no RETURNING, no ON CONFLICT) that may go to the
  // server together with the same statement of other units, as one multi-row INSERT.
  bool merge_rows = false;
  // The format the statement's result columns come in (binary: see Result). Binary spares
  // the server printing values (array_out, timestamps) and this side parsing them.
  // GroupCommitter keeps it for statements it does not merge.
  ResultFormat result_format = ResultFormat::kText;
};

struct ConnectOptions {
  std::string dsn = "";  // libpq conninfo ("host=... dbname=...") or URI ("postgresql://...")
  absl::Duration statement_timeout = absl::ZeroDuration();  // zero: the server's setting
  // Statements with parameters are prepared once per session (named server-side prepared
  // statements, keyed by SQL and parameter types) and then only bound and executed, which
  // spares the server parsing and planning them again. Up to this many per session; after
  // that, new statements run unprepared. 0 turns preparing off.
  int max_prepared_statements = 256;
};

// One libpq session. Not thread-safe: a Connection belongs to one thread at a time (the
// Pool's lease enforces that). Every session runs with TimeZone=UTC and DateStyle=ISO.
class Connection {
 public:
  // Connects, giving up at `deadline` (UNAVAILABLE).
  static absl::StatusOr<std::unique_ptr<Connection>> Open(const ConnectOptions& options,
                                                          absl::Time deadline);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // One statement with `$1..$n` parameters (extended protocol, so no SQL injection). Its
  // result columns come as text unless `result_format` is kBinary (see Result).
  absl::StatusOr<Result> Execute(absl::string_view sql, absl::Span<const Param> params = {},
                                 ResultFormat result_format = ResultFormat::kText);
  // Several `;`-separated statements without parameters (simple protocol): DDL, migrations.
  absl::Status ExecuteScript(absl::string_view sql);
  // Several statements with parameters in ONE round trip (libpq pipeline mode), as one
  // atomic unit: outside a transaction they form one implicit transaction that is
  // committed (durably) before this returns OK; inside BEGIN they join that transaction.
  // On the first failure nothing after it runs, nothing of it commits, and that failure is
  // returned. For a handful of small statements (a write and its history and outbox
  // rows), not bulk loads: requests are sent before any result is read.
  absl::StatusOr<std::vector<Result>> ExecuteAtomically(absl::Span<const Statement> statements);

  // False once the session is lost or in a state nobody can use (e.g. inside COPY); a
  // Pool then closes it instead of handing it out again.
  bool healthy() const;
  // Makes the Pool close this session instead of reusing it: for code that changed session
  // state (settings, advisory locks) it cannot reliably undo.
  void Discard() { discarded_ = true; }
  bool discarded() const { return discarded_; }
  // True between BEGIN and COMMIT/ROLLBACK (including a failed transaction).
  bool in_transaction() const;
  // Checks, without a round trip, that the server has not closed this idle session.
  bool StillConnected();
  int backend_pid() const;
  // libpq's last error message, on one line.
  std::string error_message() const;

  // `"name"` with quotes doubled, for identifiers that cannot be parameters (schemas).
  std::string QuoteIdentifier(absl::string_view name) const;

  pg_conn* native() { return conn_; }

 private:
  Connection(pg_conn* conn, int max_prepared) : conn_(conn), max_prepared_(max_prepared) {}
  // The server-side name of `sql` with these parameter types if this session prepared
  // it, else nullptr.
  const std::string* PreparedName(const std::string& key) const;
  // A fresh name for preparing a statement, or "" when the session has prepared (or is
  // preparing, `in_flight`) its maximum.
  std::string NameToPrepare(size_t in_flight = 0);
  absl::Status StatusFromFailedCall(absl::string_view what) const;
  absl::StatusOr<Result> TakeResult(pg_result* raw);
  static void OnNotice(void* self, const pg_result* notice);

  pg_conn* conn_;
  int max_prepared_;
  // Prepared statements by SQL + parameter types (see StatementKey), to their names.
  absl::flat_hash_map<std::string, std::string> prepared_;
  int64_t names_used_ = 0;
  bool unusable_ = false;
  bool discarded_ = false;
};

}  // namespace sundesk::pg
