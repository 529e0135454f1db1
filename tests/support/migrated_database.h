#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "libs/pg/migrations.h"
#include "libs/pg/pool.h"
#include "tests/support/postgres_server.h"

namespace sundesk::testing {

// One schema's migrations, e.g. {"ticket", ticket::Migrations()}.
struct SchemaMigrations {
  std::string schema;
  std::vector<pg::Migration> migrations;
};

struct MigratedDatabaseOptions {
  std::string database = "sundesk";  // [a-z0-9_]
  std::vector<SchemaMigrations> schemas = {};
  pg::PoolOptions pool = {};  // its dsn is the new database's
  PostgresServerOptions server = {};
};

// A throwaway PostgreSQL server with one database, a pool on it and each schema migrated:
// how most integration tests and benchmarks begin. Members are destroyed pool first, then
// the server.
//
//   auto db = testing::MigratedDatabase::Start({.schemas = {{"sla", Migrations()}}});
//   ASSERT_TRUE(db.ok()) << db.status();
//   PgClockStore store(*(*db)->pool);
struct MigratedDatabase {
  static absl::StatusOr<std::unique_ptr<MigratedDatabase>> Start(MigratedDatabaseOptions options);

  std::unique_ptr<PostgresServer> server;
  std::string dsn;
  std::unique_ptr<pg::Pool> pool;
};

}  // namespace sundesk::testing
