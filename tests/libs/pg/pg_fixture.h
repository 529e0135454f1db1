#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "gtest/gtest.h"
#include "libs/pg/pool.h"
#include "libs/pg/result.h"
#include "tests/support/postgres_server.h"

namespace sundesk::pg {

// The PostgreSQL server this test binary shares (started once, before the first test;
// deadlock_timeout is 100 ms so deadlock tests are quick).
testing::PostgresServer& SharedServer();

// Gives each test its own database on the shared server, and a pool on it.
class PgTest : public ::testing::Test {
 protected:
  void SetUp() override;

  absl::StatusOr<std::unique_ptr<Pool>> MakePool(PoolOptions options = {});
  // Runs one statement on a pooled connection.
  absl::StatusOr<Result> Query(absl::string_view sql, absl::Span<const Param> params = {});
  // The first cell of a one-row result as an integer; -1 on error (reported as a failure).
  int64_t QueryInt(absl::string_view sql, absl::Span<const Param> params = {});

  std::string dsn_;
  std::unique_ptr<Pool> pool_;
};

}  // namespace sundesk::pg
