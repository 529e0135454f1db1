#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "libs/pg/pool.h"

namespace sundesk::pg {

// One schema change, usually from a file `NNNN_name.sql` embedded at build time by the
// CMake function sundesk_pg_migrations (see README.md).
struct Migration {
  int64_t version = 0;
  std::string name;
  std::string sql;
};

// Brings `schema` up to date: creates it and `<schema>.schema_migrations(version, name,
// checksum, applied_at)` if missing, then applies each migration not yet recorded, in
// version order, each in its own transaction with `search_path` set to the schema. Runs
// under a session advisory lock keyed by the schema, so replicas starting together apply
// each migration exactly once. Idempotent.
//
// FAILED_PRECONDITION, before anything is applied, when an applied migration's SQL has
// changed (checksum), or when an unapplied migration is older than the newest applied one.
// Applied migrations this binary does not know (a newer replica ran them) are allowed.
// A migration must not BEGIN/COMMIT itself, nor use statements that cannot run inside a
// transaction (CREATE INDEX CONCURRENTLY).
absl::Status RunMigrations(Pool& pool, absl::string_view schema, std::vector<Migration> migrations);

// Versions must be positive and unique; names non-empty. Checked by RunMigrations.
absl::Status CheckMigrations(const std::vector<Migration>& migrations);

// The advisory lock key for a schema's migrations: FNV-1a of "sundesk.migrations:<schema>",
// stable across builds and processes.
int64_t MigrationLockKey(absl::string_view schema);

}  // namespace sundesk::pg
