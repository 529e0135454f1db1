#include <limits>
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
#include "libs/pg/result.h"
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

// PostgreSQL's binary forms, byte for byte (what int8send, timestamptz_send, array_send
// write).
std::string Bytes(std::initializer_list<int> bytes) {
  std::string out;
  for (int b : bytes) out.push_back(static_cast<char>(b));
  return out;
}

TEST(BinaryResultTest, DecodesScalarsFromTheirExactBytes) {
  EXPECT_EQ(*binary::Int(binary::kInt2, Bytes({0xff, 0xfe})), -2);
  EXPECT_EQ(*binary::Int(binary::kInt4, Bytes({0x80, 0, 0, 0})), -2147483648LL);
  EXPECT_EQ(*binary::Int(binary::kInt4, Bytes({0, 0, 0x01, 0x02})), 258);
  EXPECT_EQ(*binary::Int(binary::kInt8, Bytes({0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})),
            std::numeric_limits<int64_t>::max());
  EXPECT_EQ(*binary::Int(binary::kInt8, Bytes({0xff, 0xff, 0xff, 0xfd, 0xe7, 0x8e, 0xe6, 0})),
            -9'000'000'000LL);
  EXPECT_EQ(*binary::Int(binary::kOid, Bytes({0xff, 0xff, 0xff, 0xff})), 4294967295LL);
  // 1.5 = 0x3FF8000000000000; float4 -0.25 = 0xBE800000.
  EXPECT_EQ(*binary::Float(binary::kFloat8, Bytes({0x3f, 0xf8, 0, 0, 0, 0, 0, 0})), 1.5);
  EXPECT_EQ(*binary::Float(binary::kFloat4, Bytes({0xbe, 0x80, 0, 0})), -0.25);
  EXPECT_EQ(*binary::Bool(binary::kBool, Bytes({1})), true);
  EXPECT_EQ(*binary::Bool(binary::kBool, Bytes({0})), false);
  EXPECT_EQ(binary::Bool(binary::kBool, Bytes({2})).status().code(),
            absl::StatusCode::kInvalidArgument);
  // timestamptz: microseconds since 2000-01-01 UTC; the int64 extremes are the infinities.
  EXPECT_EQ(*binary::Time(binary::kTimestamptz, Bytes({0, 0, 0, 0, 0, 0, 0, 1})),
            absl::FromUnixMicros(946'684'800'000'001));
  EXPECT_EQ(
      *binary::Time(binary::kTimestamptz, Bytes({0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})),
      absl::FromUnixMicros(946'684'799'999'999));
  EXPECT_EQ(
      *binary::Time(binary::kTimestamptz, Bytes({0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})),
      absl::InfiniteFuture());
  EXPECT_EQ(*binary::Time(binary::kTimestamptz, Bytes({0x80, 0, 0, 0, 0, 0, 0, 0})),
            absl::InfinitePast());
  EXPECT_EQ(*binary::Tid(binary::kTid, Bytes({0, 1, 0, 2, 0, 3})), "(65538,3)");
  EXPECT_FALSE(binary::Tid(binary::kInt8, Bytes({0, 1, 0, 2, 0, 3})).ok());
  EXPECT_EQ(*binary::Bytes(binary::kText, "sla"), "sla");
  EXPECT_EQ(*binary::Bytes(binary::kBytea, std::string("\0\xff", 2)), std::string("\0\xff", 2));
}

TEST(BinaryResultTest, RefusesAWrongTypeOrWrongLengthNamingBoth) {
  auto wrong = binary::Int(binary::kText, "12");
  EXPECT_EQ(wrong.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(wrong.status().message(), HasSubstr("binary text value is not an integer"));
  EXPECT_THAT(binary::Int(binary::kInt8, Bytes({0, 0, 0, 1})).status().message(),
              HasSubstr("malformed binary int8 value: 4 bytes, not 8"));
  EXPECT_FALSE(binary::Time(binary::kInt8, Bytes({0, 0, 0, 0, 0, 0, 0, 1})).ok());
  EXPECT_FALSE(binary::Float(binary::kInt8, Bytes({0, 0, 0, 0, 0, 0, 0, 1})).ok());
  EXPECT_FALSE(binary::Bool(binary::kInt2, Bytes({0, 1})).ok());
  EXPECT_THAT(binary::Bytes(binary::kInt4, Bytes({0, 0, 0, 1})).status().message(),
              HasSubstr("int4 value is not text or bytea"));
  EXPECT_THAT(binary::IntArray(binary::kInt8, Bytes({0, 0, 0, 0})).status().message(),
              HasSubstr("int8 value is not an integer array"));
}

TEST(BinaryResultTest, DecodesOneDimensionalArraysWithNullsAndEmptyOnes) {
  // ndim 1, has-null 1, element int8 (20), length 3, lower bound 1; then each element's
  // length (-1: NULL) and bytes.
  const std::string ints =
      Bytes({0,    0,    0,    1,    0,    0,    0,    1,    0,    0,    0,    20,
             0,    0,    0,    3,    0,    0,    0,    1,                             //
             0,    0,    0,    8,    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe,  //
             0xff, 0xff, 0xff, 0xff,                                                  //
             0,    0,    0,    8,    0,    0,    0,    0,    0,    0,    0,    7});
  auto decoded = binary::IntArray(binary::kInt8Array, ints);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_THAT(*decoded,
              ElementsAre(std::optional<int64_t>(-2), std::nullopt, std::optional<int64_t>(7)));
  // The same bytes as Param::Int64Array writes.
  EXPECT_EQ(
      *binary::IntArray(
          binary::kInt8Array,
          Param::Int64Array(std::vector<std::optional<int64_t>>{-2, std::nullopt, 7}).value()),
      *decoded);
  // Empty: no dimensions.
  EXPECT_TRUE(
      binary::IntArray(binary::kInt8Array, Bytes({0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 20}))->empty());
  // int4[] of one element.
  EXPECT_THAT(*binary::IntArray(
                  binary::kInt4Array,
                  Bytes({0, 0, 0, 1, 0,    0,    0,    0,   0, 0, 0, 23, 0, 0, 0, 1, 0, 0, 0, 1,  //
                         0, 0, 0, 4, 0xff, 0xff, 0xff, 0xf9})),
              ElementsAre(std::optional<int64_t>(-7)));
  // text[] {"ab", NULL, ""}.
  auto texts = binary::BytesArray(
      binary::kTextArray,
      Bytes({0, 0, 0, 1, 0,   0,   0,    1,    0,    0,    0, 25, 0, 0, 0, 3, 0, 0, 0, 1,  //
             0, 0, 0, 2, 'a', 'b', 0xff, 0xff, 0xff, 0xff, 0, 0,  0, 0}));
  ASSERT_TRUE(texts.ok()) << texts.status();
  EXPECT_THAT(*texts, ElementsAre(std::optional<std::string>("ab"), std::nullopt,
                                  std::optional<std::string>("")));
  // timestamptz[] as Param::TimeArray writes it, infinities included.
  const std::vector<std::optional<absl::Time>> times = {absl::FromUnixMicros(1'767'225'600'123'456),
                                                        std::nullopt, absl::InfiniteFuture(),
                                                        absl::InfinitePast()};
  EXPECT_EQ(*binary::TimeArray(binary::kTimestamptzArray, Param::TimeArray(times).value()), times);
  EXPECT_THAT(*binary::BoolArray(binary::kBoolArray,
                                 Param::BoolArray(std::vector<bool>{true, false}).value()),
              ElementsAre(std::optional<bool>(true), std::optional<bool>(false)));
  EXPECT_THAT(*binary::FloatArray(binary::kFloat8Array,
                                  Param::Float64Array(std::vector<double>{-2.5e300}).value()),
              ElementsAre(std::optional<double>(-2.5e300)));
}

TEST(BinaryResultTest, RefusesMalformedArraysInsteadOfReadingPastThem) {
  const std::string header = Bytes({0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 20, 0, 0, 0, 2, 0, 0, 0, 1});
  // Two elements announced, one present.
  EXPECT_THAT(
      binary::IntArray(binary::kInt8Array, header + Bytes({0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 1}))
          .status()
          .message(),
      HasSubstr("ends inside an element"));
  // An element longer than the bytes left.
  EXPECT_FALSE(binary::IntArray(binary::kInt8Array, header + Bytes({0, 0, 0, 9, 0})).ok());
  // An element of the wrong size for int8.
  EXPECT_FALSE(binary::IntArray(binary::kInt8Array,
                                header + Bytes({0, 0, 0, 4, 0, 0, 0, 1, 0, 0, 0, 4, 0, 0, 0, 1}))
                   .ok());
  // Header shorter than 12 bytes; element type in the header not the array's.
  EXPECT_FALSE(binary::IntArray(binary::kInt8Array, Bytes({0, 0, 0, 1})).ok());
  EXPECT_THAT(binary::IntArray(binary::kInt8Array, Bytes({0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 23}))
                  .status()
                  .message(),
              HasSubstr("its elements are int4"));
  // Two dimensions.
  EXPECT_THAT(binary::IntArray(binary::kInt8Array,
                               Bytes({0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 20, 0, 0, 0, 1, 0, 0, 0, 1,
                                      0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 8,  0, 0, 0, 0, 0, 0, 0, 1}))
                  .status()
                  .message(),
              HasSubstr("2 dimensions"));
  // Trailing bytes.
  EXPECT_FALSE(
      binary::IntArray(binary::kInt8Array, Bytes({0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 20, 0})).ok());
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
