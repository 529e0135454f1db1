#include "libs/pg/migrations.h"

#include <algorithm>
#include <map>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "libs/core/log.h"
#include "libs/core/status.h"
#include "libs/pg/errors.h"

namespace sundesk::pg {
namespace {

struct Applied {
  std::string name;
  std::string checksum;
};

absl::StatusOr<std::string> Checksum(Connection& conn, const std::string& sql) {
  SUNDESK_ASSIGN_OR_RETURN(Result r,
                           conn.Execute("SELECT encode(sha256($1), 'hex')", {Param::Bytea(sql)}));
  return std::string(r.Text(0, 0));
}

absl::Status ApplyOne(Connection& conn, const std::string& schema, const Migration& m,
                      const std::string& checksum) {
  SUNDESK_RETURN_IF_ERROR(conn.ExecuteScript("BEGIN"));
  // SET LOCAL ends with the transaction, so the session's search_path is left as it was.
  SUNDESK_RETURN_IF_ERROR(conn.ExecuteScript(absl::StrCat("SET LOCAL search_path TO ", schema)));
  SUNDESK_RETURN_IF_ERROR(conn.ExecuteScript(m.sql));
  SUNDESK_RETURN_IF_ERROR(
      conn.Execute(absl::StrCat("INSERT INTO ", schema,
                                ".schema_migrations (version, name, checksum) VALUES ($1, $2, $3)"),
                   {m.version, m.name, checksum})
          .status());
  SUNDESK_ASSIGN_OR_RETURN(Result commit, conn.Execute("COMMIT"));
  if (commit.command_tag() != "COMMIT") {
    return absl::InternalError("the migration ended its transaction itself");
  }
  return absl::OkStatus();
}

// Runs with the schema's advisory lock held.
absl::Status Migrate(Connection& conn, absl::string_view schema_name,
                     const std::vector<Migration>& migrations) {
  const std::string schema = conn.QuoteIdentifier(schema_name);
  SUNDESK_RETURN_IF_ERROR(conn.ExecuteScript(
      absl::StrCat("CREATE SCHEMA IF NOT EXISTS ", schema, "; CREATE TABLE IF NOT EXISTS ", schema,
                   ".schema_migrations (version bigint PRIMARY KEY, name text NOT NULL, "
                   "checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())")));
  SUNDESK_ASSIGN_OR_RETURN(Result rows,
                           conn.Execute(absl::StrCat("SELECT version, name, checksum FROM ", schema,
                                                     ".schema_migrations")));
  std::map<int64_t, Applied> applied;
  int64_t newest_applied = 0;
  for (int r = 0; r < rows.rows(); ++r) {
    SUNDESK_ASSIGN_OR_RETURN(int64_t version, rows.Int64(r, 0));
    applied[version] = {std::string(rows.Text(r, 1)), std::string(rows.Text(r, 2))};
    newest_applied = std::max(newest_applied, version);
  }

  // Everything is checked before anything is applied.
  std::vector<std::pair<const Migration*, std::string>> pending;
  for (const Migration& m : migrations) {
    SUNDESK_ASSIGN_OR_RETURN(std::string checksum, Checksum(conn, m.sql));
    auto it = applied.find(m.version);
    if (it != applied.end()) {
      if (it->second.checksum != checksum) {
        return absl::FailedPreconditionError(absl::StrCat(
            "pg: migration ", m.version, " (", m.name, ") of schema ", schema_name,
            " changed after it was applied (checksum ", it->second.checksum, " applied, ", checksum,
            " now); add a new migration instead of editing an applied one"));
      }
      continue;
    }
    if (m.version < newest_applied) {
      return absl::FailedPreconditionError(
          absl::StrCat("pg: migration ", m.version, " (", m.name, ") of schema ", schema_name,
                       " is older than the applied migration ", newest_applied,
                       "; give it a version after ", newest_applied));
    }
    pending.emplace_back(&m, std::move(checksum));
  }

  for (const auto& [m, checksum] : pending) {
    absl::Time start = absl::Now();
    if (absl::Status st = ApplyOne(conn, schema, *m, checksum); !st.ok()) {
      if (conn.healthy() && conn.in_transaction()) (void)conn.ExecuteScript("ROLLBACK");
      return Annotate(st, absl::StrCat("pg: migration ", m->version, " (", m->name, ") of schema ",
                                       schema_name, " failed"));
    }
    log::Info("pg: applied migration", {{"schema", schema_name},
                                        {"version", m->version},
                                        {"name", m->name},
                                        {"ms", absl::ToInt64Milliseconds(absl::Now() - start)}});
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckMigrations(const std::vector<Migration>& migrations) {
  std::set<int64_t> versions;
  for (const Migration& m : migrations) {
    if (m.version <= 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("pg: migration ", m.name, " has version ", m.version, "; must be > 0"));
    }
    if (m.name.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("pg: migration ", m.version, " has no name"));
    }
    if (!versions.insert(m.version).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("pg: migration version ", m.version, " appears twice"));
    }
  }
  return absl::OkStatus();
}

int64_t MigrationLockKey(absl::string_view schema) {
  uint64_t hash = 14695981039346656037ULL;
  for (char c : absl::StrCat("sundesk.migrations:", schema)) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 1099511628211ULL;
  }
  return static_cast<int64_t>(hash);
}

absl::Status RunMigrations(Pool& pool, absl::string_view schema,
                           std::vector<Migration> migrations) {
  if (schema.empty()) return absl::InvalidArgumentError("pg: migrations need a schema name");
  SUNDESK_RETURN_IF_ERROR(CheckMigrations(migrations));
  std::sort(migrations.begin(), migrations.end(),
            [](const Migration& a, const Migration& b) { return a.version < b.version; });

  SUNDESK_ASSIGN_OR_RETURN(Lease conn, pool.Acquire());
  // This session gets settings and a lock it should not hand to the next lease; closing
  // it also releases the lock should an unlock below not happen.
  conn->Discard();
  const int64_t key = MigrationLockKey(schema);
  // DDL, and waiting for another replica's migrations, may outlast the statement timeout.
  SUNDESK_RETURN_IF_ERROR(conn->ExecuteScript("SET statement_timeout = 0"));
  SUNDESK_RETURN_IF_ERROR(conn->Execute("SELECT pg_advisory_lock($1)", {key}).status());
  absl::Status status = Migrate(*conn, schema, migrations);
  if (conn->healthy()) (void)conn->Execute("SELECT pg_advisory_unlock($1)", {key});
  return status;
}

}  // namespace sundesk::pg
