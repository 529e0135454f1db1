#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/pg/errors.h"
#include "libs/pg/migrations.h"
#include "tests/libs/pg/migrations.h"
#include "tests/libs/pg/pg_fixture.h"

namespace sundesk::pg {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// The versions recorded in <schema>.schema_migrations, in order.
std::vector<int64_t> AppliedVersions(PgTest& test, Pool& pool, const std::string& schema) {
  std::vector<int64_t> versions;
  auto lease = pool.Acquire();
  EXPECT_TRUE(lease.ok());
  if (!lease.ok()) return versions;
  auto rows = (*lease)->Execute("SELECT version FROM " + schema + ".schema_migrations ORDER BY 1");
  EXPECT_TRUE(rows.ok()) << rows.status();
  for (int r = 0; rows.ok() && r < rows->rows(); ++r) versions.push_back(*rows->Int64(r, 0));
  return versions;
}

class MigrationsTest : public PgTest {
 protected:
  std::vector<int64_t> Applied(const std::string& schema = "routing") {
    return AppliedVersions(*this, *pool_, schema);
  }
  const std::vector<Migration> agents_ = {
      {1, "create_agents", "CREATE TABLE agents (id text PRIMARY KEY);"},
      {2, "add_language", "ALTER TABLE agents ADD COLUMN language text NOT NULL DEFAULT 'en';"},
  };
};

TEST_F(MigrationsTest, AppliesInVersionOrderInsideTheSchemaAndOnlyOnce) {
  std::vector<Migration> unordered = {agents_[1], agents_[0]};
  ASSERT_TRUE(RunMigrations(*pool_, "routing", unordered).ok());
  EXPECT_THAT(Applied(), ElementsAre(1, 2));
  // Unqualified names landed in the schema, not in public.
  EXPECT_EQ(QueryInt("SELECT count(*) FROM information_schema.columns "
                     "WHERE table_schema = 'routing' AND table_name = 'agents'"),
            2);
  EXPECT_EQ(QueryInt("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"), 0);
  auto applied_at = Query("SELECT applied_at FROM routing.schema_migrations WHERE version = 1");
  ASSERT_TRUE(applied_at.ok());

  // CREATE TABLE would fail if run again: success means nothing was re-applied.
  absl::Status again = RunMigrations(*pool_, "routing", unordered);
  EXPECT_TRUE(again.ok()) << again;
  EXPECT_THAT(Applied(), ElementsAre(1, 2));
  auto applied_at_again =
      Query("SELECT applied_at FROM routing.schema_migrations WHERE version = 1");
  EXPECT_EQ(applied_at_again->Text(0, 0), applied_at->Text(0, 0));
}

TEST_F(MigrationsTest, NewMigrationsApplyOnTopOfAppliedOnes) {
  ASSERT_TRUE(RunMigrations(*pool_, "routing", {agents_[0]}).ok());
  EXPECT_THAT(Applied(), ElementsAre(1));
  ASSERT_TRUE(RunMigrations(*pool_, "routing", agents_).ok());
  EXPECT_THAT(Applied(), ElementsAre(1, 2));
  // An older binary that knows only migration 1 still starts.
  EXPECT_TRUE(RunMigrations(*pool_, "routing", {agents_[0]}).ok());
}

TEST_F(MigrationsTest, ConcurrentReplicasApplyEachMigrationExactlyOnce) {
  std::vector<Migration> migrations = {
      {1, "create_log",
       "CREATE TABLE applied_log (version int); INSERT INTO applied_log VALUES (1);"},
      {2, "second", "INSERT INTO applied_log VALUES (2);"},
      {3, "third", "INSERT INTO applied_log VALUES (3);"},
  };
  constexpr int kReplicas = 4;
  std::vector<absl::Status> results(kReplicas);
  std::vector<std::thread> replicas;
  for (int i = 0; i < kReplicas; ++i) {
    replicas.emplace_back([&, i] {
      auto pool = MakePool({.size = 1});
      results[i] = pool.ok() ? RunMigrations(**pool, "routing", migrations) : pool.status();
    });
  }
  for (auto& t : replicas) t.join();
  for (const absl::Status& st : results) EXPECT_TRUE(st.ok()) << st;
  EXPECT_THAT(Applied(), ElementsAre(1, 2, 3));
  auto log = Query("SELECT version, count(*) FROM routing.applied_log GROUP BY 1 ORDER BY 1");
  ASSERT_TRUE(log.ok()) << log.status();
  ASSERT_EQ(log->rows(), 3);
  for (int r = 0; r < 3; ++r) {
    EXPECT_EQ(*log->Int64(r, 0), r + 1);
    EXPECT_EQ(*log->Int64(r, 1), 1) << "migration " << r + 1 << " ran more than once";
  }
}

TEST_F(MigrationsTest, RefusesWhenAnAppliedMigrationWasEdited) {
  ASSERT_TRUE(RunMigrations(*pool_, "routing", {agents_[0]}).ok());
  std::vector<Migration> edited = agents_;
  edited[0].sql = "CREATE TABLE agents (id text PRIMARY KEY, name text);";
  absl::Status st = RunMigrations(*pool_, "routing", edited);
  EXPECT_EQ(st.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(st.message(), HasSubstr("migration 1 (create_agents)"));
  EXPECT_THAT(st.message(), HasSubstr("changed after it was applied"));
  EXPECT_THAT(Applied(), ElementsAre(1)) << "nothing else may be applied";
}

TEST_F(MigrationsTest, RefusesAnUnappliedMigrationOlderThanAnAppliedOne) {
  std::vector<Migration> skipped = {agents_[0], {3, "later", "SELECT 1;"}};
  ASSERT_TRUE(RunMigrations(*pool_, "routing", skipped).ok());
  skipped.push_back(agents_[1]);
  absl::Status st = RunMigrations(*pool_, "routing", skipped);
  EXPECT_EQ(st.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(st.message(), HasSubstr("migration 2 (add_language)"));
  EXPECT_THAT(Applied(), ElementsAre(1, 3));
}

TEST_F(MigrationsTest, FailingMigrationIsRolledBackAndStopsTheRun) {
  std::vector<Migration> migrations = {
      agents_[0],
      {2, "broken", "CREATE TABLE half_done (id int); SELECT * FROM no_such_table;"},
      {3, "after", "CREATE TABLE after_broken (id int);"},
  };
  absl::Status st = RunMigrations(*pool_, "routing", migrations);
  EXPECT_FALSE(st.ok());
  EXPECT_THAT(st.message(), HasSubstr("migration 2 (broken) of schema routing failed"));
  EXPECT_EQ(SqlState(st), "42P01");
  EXPECT_THAT(Applied(), ElementsAre(1));
  EXPECT_EQ(QueryInt("SELECT count(*) FROM pg_tables WHERE tablename IN "
                     "('half_done', 'after_broken')"),
            0);

  migrations[1].sql = "CREATE TABLE half_done (id int);";
  ASSERT_TRUE(RunMigrations(*pool_, "routing", migrations).ok());
  EXPECT_THAT(Applied(), ElementsAre(1, 2, 3));
}

TEST_F(MigrationsTest, SchemasAreIndependent) {
  ASSERT_TRUE(RunMigrations(*pool_, "routing", agents_).ok());
  ASSERT_TRUE(RunMigrations(*pool_, "Sla Clocks", {agents_[0]}).ok());
  EXPECT_THAT(Applied("routing"), ElementsAre(1, 2));
  EXPECT_THAT(Applied("\"Sla Clocks\""), ElementsAre(1));
}

TEST_F(MigrationsTest, EmbeddedSqlFilesApply) {
  absl::Status st = RunMigrations(*pool_, "queues", sundesk::pg_test::Migrations());
  ASSERT_TRUE(st.ok()) << st;
  EXPECT_THAT(Applied("queues"), ElementsAre(1, 2, 10));
  auto label = Query("SELECT queues.queue_label(q) FROM queues.queues q WHERE id = 1");
  ASSERT_TRUE(label.ok()) << label.status();
  EXPECT_EQ(label->Text(0, 0), "Impressoras (pt-BR)");
}

}  // namespace
}  // namespace sundesk::pg
