#include "tests/support/migrated_database.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace sundesk::testing {

absl::StatusOr<std::unique_ptr<MigratedDatabase>> MigratedDatabase::Start(
    MigratedDatabaseOptions options) {
  auto db = std::make_unique<MigratedDatabase>();
  auto server = PostgresServer::Start(std::move(options.server));
  if (!server.ok()) return server.status();
  db->server = std::move(*server);
  auto dsn = db->server->CreateDatabase(options.database);
  if (!dsn.ok()) return dsn.status();
  db->dsn = *dsn;
  options.pool.dsn = db->dsn;
  auto pool = pg::Pool::Create(options.pool);
  if (!pool.ok()) return pool.status();
  db->pool = std::move(*pool);
  for (SchemaMigrations& s : options.schemas) {
    absl::Status st = pg::RunMigrations(*db->pool, s.schema, std::move(s.migrations));
    if (!st.ok()) {
      return absl::Status(st.code(), absl::StrCat("migrating ", s.schema, ": ", st.message()));
    }
  }
  return db;
}

}  // namespace sundesk::testing
