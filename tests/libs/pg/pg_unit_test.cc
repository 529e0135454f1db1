#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/pg/errors.h"
#include "libs/pg/migrations.h"
#include "libs/pg/param.h"
#include "libs/pg/text_array.h"
#include "tests/libs/pg/migrations.h"
#include "tests/support/process.h"

namespace sundesk::pg {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(SqlStateTest, MapsToTheCodeACallerActsOn) {
  EXPECT_EQ(StatusCodeForSqlState("23505"), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(StatusCodeForSqlState("40001"), absl::StatusCode::kAborted);
  EXPECT_EQ(StatusCodeForSqlState("40P01"), absl::StatusCode::kAborted);
  EXPECT_EQ(StatusCodeForSqlState("57014"), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(StatusCodeForSqlState("08006"), absl::StatusCode::kUnavailable);
  EXPECT_EQ(StatusCodeForSqlState("57P01"), absl::StatusCode::kUnavailable);
  EXPECT_EQ(StatusCodeForSqlState("22P02"), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(StatusCodeForSqlState("22001"), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(StatusCodeForSqlState("23502"), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(StatusCodeForSqlState("23514"), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(StatusCodeForSqlState("23503"), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(StatusCodeForSqlState("23P01"), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(StatusCodeForSqlState("53300"), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(StatusCodeForSqlState("42601"), absl::StatusCode::kInternal);
  EXPECT_EQ(StatusCodeForSqlState("XX000"), absl::StatusCode::kInternal);
}

TEST(SqlStateTest, ServerErrorKeepsSqlStateMessageAndConstraint) {
  absl::Status st =
      ServerError("23505", "duplicate key value violates unique constraint \"tickets_pkey\"",
                  "Key (id)=(7) already exists.", "tickets_pkey");
  EXPECT_EQ(st.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(st.message(),
            "pg: SQLSTATE 23505 (unique_violation): duplicate key value violates unique "
            "constraint \"tickets_pkey\": Key (id)=(7) already exists.");
  EXPECT_EQ(SqlState(st), "23505");
  EXPECT_EQ(ConstraintName(st), "tickets_pkey");

  absl::Status annotated = Annotate(st, "creating ticket");
  EXPECT_EQ(annotated.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(annotated.message(), HasSubstr("creating ticket: pg: SQLSTATE 23505"));
  EXPECT_EQ(SqlState(annotated), "23505");
  EXPECT_EQ(ConstraintName(annotated), "tickets_pkey");
}

TEST(SqlStateTest, OnlySerializationFailuresAndDeadlocksAreRetried) {
  EXPECT_TRUE(IsRetryableTransactionError(ServerError("40001", "could not serialize")));
  EXPECT_TRUE(IsRetryableTransactionError(ServerError("40P01", "deadlock detected")));
  EXPECT_FALSE(IsRetryableTransactionError(ServerError("23505", "duplicate")));
  EXPECT_FALSE(IsRetryableTransactionError(absl::AbortedError("not from PostgreSQL")));
  EXPECT_EQ(SqlState(absl::InternalError("plain")), "");
}

TEST(ParamTest, FormatsValuesAsPostgreSqlText) {
  EXPECT_EQ(Param(42).value(), "42");
  EXPECT_EQ(Param(int64_t{-9'000'000'000}).value(), "-9000000000");
  EXPECT_EQ(Param(true).value(), "true");
  EXPECT_EQ(Param("text").value(), "text");
  EXPECT_EQ(Param(absl::FromUnixMicros(1'767'225'600'000'123)).value(),
            "2026-01-01 00:00:00.000123+00");
  EXPECT_TRUE(Param(std::nullopt).is_null());
  EXPECT_TRUE(Param(std::optional<int>()).is_null());
  EXPECT_EQ(Param(std::optional<std::string>("x")).value(), "x");
  Param bytes = Param::Bytea(std::string("\0\1", 2));
  EXPECT_TRUE(bytes.is_bytea());
  EXPECT_EQ(bytes.value(), std::string("\0\1", 2));
}

TEST(ParamTest, EncodesArraysInPostgreSqlBinaryArrayFormat) {
  // ndim 1, has-null 1, element type int8 (20), length 2, lower bound 1; then per element
  // its length (-1: NULL) and big-endian bytes.
  Param ints = Param::Int64Array(std::vector<std::optional<int64_t>>{-2, std::nullopt});
  EXPECT_TRUE(ints.is_binary());
  EXPECT_FALSE(ints.is_bytea());
  EXPECT_EQ(ints.type(), 1016u);  // bigint[]
  EXPECT_EQ(ints.value(), std::string("\0\0\0\1"
                                      "\0\0\0\1"
                                      "\0\0\0\x14"
                                      "\0\0\0\2"
                                      "\0\0\0\1"
                                      "\0\0\0\x08\xff\xff\xff\xff\xff\xff\xff\xfe"
                                      "\xff\xff\xff\xff",
                                      36));
  // Empty: no dimensions at all.
  EXPECT_EQ(Param::TextArray(std::vector<std::string>{}).value(),
            std::string("\0\0\0\0\0\0\0\0\0\0\0\x19", 12));
  // 2000-01-01T00:00:00.000001Z is 1 µs in PostgreSQL's binary timestamptz.
  Param times =
      Param::TimeArray(std::vector<absl::Time>{absl::FromUnixMicros(946'684'800'000'001)});
  EXPECT_EQ(times.type(), 1185u);
  EXPECT_EQ(times.value().substr(20), std::string("\0\0\0\x08\0\0\0\0\0\0\0\1", 12));
  EXPECT_FALSE(Param("text").is_binary());
  EXPECT_EQ(Param("text").type(), 0u);
}

TEST(TextArrayTest, RoundTripsAnyText) {
  const std::vector<std::string> items = {"printers", "sap \"fi\", co", "back\\slash", "", "{x}"};
  auto parsed = ParseTextArray(TextArrayLiteral(items));
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(*parsed, items);
  EXPECT_TRUE(ParseTextArray("{}")->empty());
  EXPECT_THAT(*ParseTextArray("{a,b}"), ElementsAre("a", "b"));  // PostgreSQL leaves these bare
  EXPECT_FALSE(ParseTextArray("{\"open").ok());
  EXPECT_FALSE(ParseTextArray("{\"a\"b}").ok());
  EXPECT_EQ(ParseTextArray("not an array").status().code(), absl::StatusCode::kDataLoss);
}

TEST(MigrationsTest, CheckRejectsDuplicateOrNonPositiveVersions) {
  EXPECT_TRUE(CheckMigrations({{1, "a", "SELECT 1"}, {2, "b", "SELECT 2"}}).ok());
  EXPECT_EQ(CheckMigrations({{1, "a", ""}, {1, "b", ""}}).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(CheckMigrations({{0, "a", ""}}).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(CheckMigrations({{3, "", ""}}).code(), absl::StatusCode::kInvalidArgument);
}

TEST(MigrationsTest, LockKeyIsStableAcrossBuilds) {
  // Replicas built from different commits must agree on it, or they would migrate at once.
  EXPECT_EQ(MigrationLockKey("ticket"), -2124331246461933577);
  EXPECT_NE(MigrationLockKey("ticket"), MigrationLockKey("routing"));
}

TEST(MigrationsTest, EmbeddedFilesKeepVersionNameAndEveryByte) {
  std::vector<Migration> migrations = sundesk::pg_test::Migrations();
  ASSERT_EQ(migrations.size(), 3u);
  const std::string dir = testing::SourceDir() + "/tests/libs/pg/migrations/";
  EXPECT_EQ(migrations[0].version, 1);
  EXPECT_EQ(migrations[0].name, "create_queues");
  EXPECT_EQ(migrations[0].sql, testing::ReadFile(dir + "0001_create_queues.sql"));
  EXPECT_EQ(migrations[1].version, 2);
  EXPECT_EQ(migrations[1].name, "add_language");
  EXPECT_EQ(migrations[1].sql, testing::ReadFile(dir + "0002_add_language.sql"));
  EXPECT_THAT(migrations[1].sql, HasSubstr("''pt-BR'' — not \"pt_br\"; a backslash: \\'"));
  EXPECT_EQ(migrations[2].version, 10);
  EXPECT_EQ(migrations[2].name, "seed_queue");
  EXPECT_EQ(migrations[2].sql, testing::ReadFile(dir + "0010_seed_queue.sql"));
}

}  // namespace
}  // namespace sundesk::pg
