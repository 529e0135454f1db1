#include <atomic>
#include <limits>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/pg/errors.h"
#include "libs/pg/listener.h"
#include "libs/pg/pool.h"
#include "libs/pg/transaction.h"
#include "tests/libs/pg/pg_fixture.h"
#include "tests/support/postgres_server.h"
#include "tests/support/process.h"

namespace sundesk::pg {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Two transactions meet here after their first reads, so that they really overlap.
class Rendezvous {
 public:
  explicit Rendezvous(int parties) : parties_(parties) {}
  bool Arrive() {
    absl::MutexLock lock(&mu_);
    ++arrived_;
    auto all = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return arrived_ >= parties_; };
    return mu_.AwaitWithTimeout(absl::Condition(&all), absl::Seconds(30));
  }

 private:
  absl::Mutex mu_;
  const int parties_;
  int arrived_ ABSL_GUARDED_BY(mu_) = 0;
};

TEST_F(PgTest, ExecutesWithTextParamsNullsAndReadsColumnsByName) {
  ASSERT_TRUE(Query("CREATE TABLE tickets (id bigint PRIMARY KEY, subject text NOT NULL, "
                    "priority int, escalated boolean, opened_at timestamptz)")
                  .ok());
  const absl::Time opened = absl::FromUnixMicros(1'767'225'600'123'456);
  auto insert = Query("INSERT INTO tickets VALUES ($1, $2, $3, $4, $5)",
                      {7, "Drucker brennt — ñ ü 日本", std::nullopt, true, opened});
  ASSERT_TRUE(insert.ok()) << insert.status();
  EXPECT_EQ(insert->affected_rows(), 1);

  auto rows = Query(
      "SELECT id, subject, priority, escalated, opened_at FROM tickets "
      "WHERE id = $1",
      {int64_t{7}});
  ASSERT_TRUE(rows.ok()) << rows.status();
  ASSERT_EQ(rows->rows(), 1);
  EXPECT_EQ(rows->columns(), 5);
  EXPECT_EQ(rows->ColumnIndex("priority"), 2);
  EXPECT_EQ(rows->ColumnIndex("missing"), -1);
  EXPECT_EQ(*rows->Int64(0, "id"), 7);
  EXPECT_EQ(rows->Text(0, "subject"), "Drucker brennt — ñ ü 日本");
  EXPECT_TRUE(rows->IsNull(0, "priority"));
  EXPECT_EQ(rows->Int64(0, "priority").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(*rows->Bool(0, "escalated"), true);
  EXPECT_EQ(*rows->Time(0, "opened_at"), opened);

  auto update = Query("UPDATE tickets SET priority = $1 WHERE id IN (7, 8)", {2});
  ASSERT_TRUE(update.ok()) << update.status();
  EXPECT_EQ(update->affected_rows(), 1);
}

TEST_F(PgTest, ByteaRoundTripKeepsEveryByteIncludingZeros) {
  ASSERT_TRUE(Query("CREATE TABLE outbox (id int PRIMARY KEY, payload bytea NOT NULL)").ok());
  std::string payload("\0\0proto\0", 8);
  for (int b = 0; b < 256; ++b) payload.push_back(static_cast<char>(b));
  ASSERT_TRUE(Query("INSERT INTO outbox VALUES ($1, $2)", {1, Param::Bytea(payload)}).ok());

  auto rows = Query("SELECT payload, length(payload) FROM outbox WHERE id = 1");
  ASSERT_TRUE(rows.ok()) << rows.status();
  EXPECT_EQ(*rows->Int64(0, 1), static_cast<int64_t>(payload.size()));
  auto read = rows->Bytea(0, "payload");
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(*read, payload);
}

TEST_F(PgTest, BinaryArrayParametersRoundTripEveryElementTypeWithNulls) {
  const std::vector<std::optional<int64_t>> big = {int64_t{-9'000'000'000}, std::nullopt, 0,
                                                   std::numeric_limits<int64_t>::max()};
  const std::vector<std::optional<int32_t>> small = {std::nullopt, -7,
                                                     std::numeric_limits<int32_t>::min()};
  const std::vector<double> reals = {0.1, -2.5e300, 0};
  const std::vector<bool> flags = {true, false, true};
  const std::vector<std::optional<std::string>> texts = {"Drucker brennt — ñ ü 日本", std::nullopt,
                                                         "", "a,b\"{c}\\"};
  std::string bytes("\0\0{proto}\0", 10);
  for (int b = 0; b < 256; ++b) bytes.push_back(static_cast<char>(b));
  const std::vector<std::string> blobs = {bytes, ""};
  const std::vector<std::optional<absl::Time>> times = {
      absl::FromUnixMicros(1'767'225'600'123'456),  // 2026, microseconds kept
      absl::FromUnixMicros(-1'234'567'890'123),     // before 1970 and 2000
      std::nullopt, absl::InfiniteFuture(), absl::InfinitePast()};

  auto rows = Query(
      "SELECT $1::text, $2::text, "
      "$3::text, $4::text, pg_typeof($1)::text, pg_typeof($5)::text, pg_typeof($6)::text",
      {Param::Int64Array(big), Param::Int32Array(small), Param::Float64Array(reals),
       Param::BoolArray(flags), Param::TextArray(texts), Param::TimeArray(times)});
  ASSERT_TRUE(rows.ok()) << rows.status();
  EXPECT_EQ(rows->Text(0, 0), "{-9000000000,NULL,0,9223372036854775807}");
  EXPECT_EQ(rows->Text(0, 1), "{NULL,-7,-2147483648}");
  EXPECT_EQ(rows->Text(0, 2), "{0.1,-2.5e+300,0}");
  EXPECT_EQ(rows->Text(0, 3), "{t,f,t}");
  EXPECT_EQ(rows->Text(0, 4), "bigint[]");
  EXPECT_EQ(rows->Text(0, 5), "text[]");
  EXPECT_EQ(rows->Text(0, 6), "timestamp with time zone[]");

  auto text_rows =
      Query("SELECT v, v IS NULL FROM unnest($1) WITH ORDINALITY AS u(v, o) ORDER BY o",
            {Param::TextArray(texts)});
  ASSERT_TRUE(text_rows.ok()) << text_rows.status();
  ASSERT_EQ(text_rows->rows(), 4);
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(text_rows->IsNull(i, 0), !texts[i].has_value()) << i;
    if (texts[i].has_value()) {
      EXPECT_EQ(text_rows->Text(i, 0), *texts[i]) << i;
    }
  }
  auto blob_rows = Query("SELECT v FROM unnest($1) WITH ORDINALITY AS u(v, o) ORDER BY o",
                         {Param::ByteaArray(blobs)});
  ASSERT_TRUE(blob_rows.ok()) << blob_rows.status();
  ASSERT_EQ(blob_rows->rows(), 2);
  EXPECT_EQ(*blob_rows->Bytea(0, 0), bytes);
  EXPECT_EQ(*blob_rows->Bytea(1, 0), "");
  auto time_rows = Query("SELECT v, v::text FROM unnest($1) WITH ORDINALITY AS u(v, o) ORDER BY o",
                         {Param::TimeArray(times)});
  ASSERT_TRUE(time_rows.ok()) << time_rows.status();
  ASSERT_EQ(time_rows->rows(), 5);
  EXPECT_EQ(*time_rows->Time(0, 0), *times[0]);
  EXPECT_EQ(*time_rows->Time(1, 0), *times[1]);
  EXPECT_TRUE(time_rows->IsNull(2, 0));
  EXPECT_EQ(time_rows->Text(3, 1), "infinity");
  EXPECT_EQ(time_rows->Text(4, 1), "-infinity");
}

TEST_F(PgTest, EmptyArrayParametersAreEmptyNotNull) {
  auto rows =
      Query("SELECT cardinality($1), cardinality($2), $1 IS NULL, $3 = '{}'::text[]",
            {Param::Int64Array(std::vector<int64_t>{}), Param::TimeArray(std::vector<absl::Time>{}),
             Param::TextArray(std::vector<std::string>{})});
  ASSERT_TRUE(rows.ok()) << rows.status();
  EXPECT_EQ(*rows->Int64(0, 0), 0);
  EXPECT_EQ(*rows->Int64(0, 1), 0);
  EXPECT_EQ(*rows->Bool(0, 2), false);
  EXPECT_EQ(*rows->Bool(0, 3), true);
}

TEST_F(PgTest, TextArrayWithInvalidUtf8IsRefusedAsInvalidArgument) {
  auto bad = Query("SELECT cardinality($1)",
                   {Param::TextArray(std::vector<std::string>{"ok", "\xC3\x28"})});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument) << bad.status();
  EXPECT_EQ(QueryInt("SELECT cardinality($1)",
                     {Param::TextArray(std::vector<std::string>{"ok", "fine"})}),
            2);
}

TEST_F(PgTest, SetBasedUpdateFromBinaryArraysAndTheSameSqlWithTextArrays) {
  ASSERT_TRUE(
      Query("CREATE TABLE clocks (id bigint PRIMARY KEY, due timestamptz, note text)").ok());
  ASSERT_TRUE(Query("INSERT INTO clocks SELECT g, NULL, NULL FROM generate_series(1, 3) g").ok());
  const std::string sql =
      "UPDATE clocks c SET due = u.due, note = u.note FROM unnest($1::bigint[], "
      "$2::timestamptz[], $3::text[]) AS u(id, due, note) WHERE c.id = u.id";
  const absl::Time due = absl::FromUnixSeconds(1'800'000'000);
  // Binary arrays, then the same SQL with text arrays: the statement prepared for one kind
  // of parameter must not be used for the other.
  for (int round = 0; round < 2; ++round) {
    auto binary =
        Query(sql, {Param::Int64Array(std::vector<int64_t>{1, 3}),
                    Param::TimeArray(std::vector<std::optional<absl::Time>>{due, std::nullopt}),
                    Param::TextArray(std::vector<std::string>{"first", "third"})});
    ASSERT_TRUE(binary.ok()) << binary.status();
    EXPECT_EQ(binary->affected_rows(), 2);
    auto text = Query(sql, {"{2}", "{\"2027-01-15 08:00:00+00\"}", "{second}"});
    ASSERT_TRUE(text.ok()) << text.status();
    EXPECT_EQ(text->affected_rows(), 1);
  }
  auto rows = Query("SELECT id, due, note FROM clocks ORDER BY id");
  ASSERT_TRUE(rows.ok()) << rows.status();
  ASSERT_EQ(rows->rows(), 3);
  EXPECT_EQ(*rows->Time(0, "due"), due);
  EXPECT_EQ(rows->Text(0, "note"), "first");
  EXPECT_EQ(*rows->Time(1, "due"),
            absl::FromCivil(absl::CivilSecond(2027, 1, 15, 8, 0, 0), absl::UTCTimeZone()));
  EXPECT_EQ(rows->Text(1, "note"), "second");
  EXPECT_TRUE(rows->IsNull(2, "due"));
  EXPECT_EQ(rows->Text(2, "note"), "third");
}

TEST_F(PgTest, BinaryResultsRoundTripEveryTypeWithNullsNegativesAndInfinities) {
  ASSERT_TRUE(Query("CREATE TABLE cells (id int PRIMARY KEY, s smallint, i int, b bigint, "
                    "f double precision, ok boolean, t text, v varchar(20), raw bytea, "
                    "at timestamptz, ids bigint[], small int[], names text[], blobs bytea[], "
                    "ats timestamptz[], flags boolean[], reals float8[])")
                  .ok());
  std::string bytes("\0\0{proto}\0", 10);
  for (int b = 0; b < 256; ++b) bytes.push_back(static_cast<char>(b));
  const absl::Time at = absl::FromUnixMicros(1'767'225'600'123'456);
  const absl::Time before_2000 = absl::FromUnixMicros(-1'234'567'890'123);
  const std::vector<std::optional<int64_t>> ids = {int64_t{-9'000'000'000}, std::nullopt, 0,
                                                   std::numeric_limits<int64_t>::max(),
                                                   std::numeric_limits<int64_t>::min()};
  const std::vector<std::optional<std::string>> names = {"Drucker brennt — ñ ü 日本", std::nullopt,
                                                         "", "a,b\"{c}\\"};
  const std::vector<std::optional<absl::Time>> ats = {at, before_2000, std::nullopt,
                                                      absl::InfiniteFuture(), absl::InfinitePast()};
  auto insert = Query(
      "INSERT INTO cells VALUES (1, -32768, -7, -9000000000, -2.5e300, false, $1, 'värde', $2, "
      "$3, $4, '{-1,NULL,2147483647}', $5, $6, $7, '{t,NULL,f}', '{0.1,NULL,-0}'), "
      "(2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 'infinity', '{}', '{}', '{}', '{}', "
      "'{}', '{}', '{}'), "
      "(3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, '-infinity', NULL, NULL, NULL, NULL, "
      "NULL, NULL, NULL)",
      {"Drucker brennt — ñ ü 日本", Param::Bytea(bytes), at, Param::Int64Array(ids),
       Param::TextArray(names), Param::ByteaArray(std::vector<std::string>{bytes, ""}),
       Param::TimeArray(ats)});
  ASSERT_TRUE(insert.ok()) << insert.status();

  auto conn = pool_->Acquire();
  ASSERT_TRUE(conn.ok()) << conn.status();
  const std::string select =
      "SELECT s, i, b, f, ok, t, v, raw, at, ids, small, names, blobs, ats, flags, reals "
      "FROM cells WHERE id = $1";
  auto r = (*conn)->Execute(select, {1}, ResultFormat::kBinary);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->rows(), 1);
  EXPECT_TRUE(r->is_binary(0));
  EXPECT_EQ(r->column_type(2), binary::kInt8);
  EXPECT_EQ(*r->Int64(0, "s"), -32768);
  EXPECT_EQ(*r->Int64(0, "i"), -7);
  EXPECT_EQ(*r->Int64(0, "b"), -9'000'000'000);
  EXPECT_EQ(*r->Double(0, "f"), -2.5e300);
  EXPECT_EQ(*r->Bool(0, "ok"), false);
  EXPECT_EQ(r->Text(0, "t"), "Drucker brennt — ñ ü 日本");
  EXPECT_EQ(r->Text(0, "v"), "värde");
  EXPECT_EQ(*r->Bytea(0, "raw"), bytes);
  EXPECT_EQ(*r->Time(0, "at"), at);
  EXPECT_EQ(*r->Int64Array(0, "ids"), ids);
  EXPECT_THAT(*r->Int64Array(0, "small"), ElementsAre(std::optional<int64_t>(-1), std::nullopt,
                                                      std::optional<int64_t>(2147483647)));
  EXPECT_EQ(*r->TextArray(0, "names"), names);
  EXPECT_THAT(*r->ByteaArray(0, "blobs"),
              ElementsAre(std::optional<std::string>(bytes), std::optional<std::string>("")));
  EXPECT_EQ(*r->TimeArray(0, "ats"), ats);
  EXPECT_THAT(*r->BoolArray(0, "flags"),
              ElementsAre(std::optional<bool>(true), std::nullopt, std::optional<bool>(false)));
  EXPECT_THAT(*r->Float64Array(0, "reals"),
              ElementsAre(std::optional<double>(0.1), std::nullopt, std::optional<double>(-0.0)));

  // Empty arrays are empty; NULL cells are errors naming the column, not crashes.
  auto empty = (*conn)->Execute(select, {2}, ResultFormat::kBinary);
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_EQ(*empty->Time(0, "at"), absl::InfiniteFuture());
  EXPECT_TRUE(empty->Int64Array(0, "ids")->empty());
  EXPECT_TRUE(empty->TextArray(0, "names")->empty());
  EXPECT_TRUE(empty->ByteaArray(0, "blobs")->empty());
  EXPECT_TRUE(empty->TimeArray(0, "ats")->empty());
  EXPECT_TRUE(empty->IsNull(0, "b"));
  for (auto status : {empty->Int64(0, "b").status(), empty->Double(0, "f").status(),
                      empty->Bool(0, "ok").status(), empty->Bytea(0, "raw").status()}) {
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
    EXPECT_THAT(status.message(), HasSubstr("NULL")) << status;
  }
  auto nulls = (*conn)->Execute(select, {3}, ResultFormat::kBinary);
  ASSERT_TRUE(nulls.ok()) << nulls.status();
  EXPECT_EQ(*nulls->Time(0, "at"), absl::InfinitePast());
  EXPECT_THAT(nulls->Int64Array(0, "ids").status().message(), HasSubstr("column ids"));
  EXPECT_EQ(nulls->TimeArray(0, "ats").status().code(), absl::StatusCode::kInvalidArgument);

  // A type the accessor does not read is INVALID_ARGUMENT naming the column and the type.
  EXPECT_THAT(r->Int64(0, "t").status().message(),
              HasSubstr("column t: pg: a binary text value is not an integer"));
  EXPECT_EQ(r->Time(0, "b").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(r->Bool(0, "i").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(r->Bytea(0, "t").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(r->Int64Array(0, "names").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(r->TextArray(0, "blobs").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(r->ByteaArray(0, "names").status().code(), absl::StatusCode::kInvalidArgument);

  // The same statement in text format (prepared once, the format chosen per execution)
  // reads as before; the arrays are binary-only.
  auto text = (*conn)->Execute(select, {1});
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_FALSE(text->is_binary(0));
  EXPECT_EQ(*text->Int64(0, "b"), -9'000'000'000);
  EXPECT_EQ(*text->Time(0, "at"), at);
  EXPECT_EQ(*text->Bytea(0, "raw"), bytes);
  EXPECT_EQ(text->Text(0, "ids"), "{-9000000000,NULL,0,9223372036854775807,-9223372036854775808}");
  EXPECT_THAT(text->Int64Array(0, "ids").status().message(), HasSubstr("binary results only"));

  // A row's address reads the same in both formats, and finds the row again.
  auto addr = (*conn)->Execute("SELECT ctid FROM cells WHERE id = 2", {}, ResultFormat::kBinary);
  ASSERT_TRUE(addr.ok()) << addr.status();
  auto addr_text = (*conn)->Execute("SELECT ctid FROM cells WHERE id = 2");
  ASSERT_TRUE(addr_text.ok()) << addr_text.status();
  ASSERT_TRUE(addr->Tid(0, 0).ok()) << addr->Tid(0, 0).status();
  EXPECT_EQ(*addr->Tid(0, 0), *addr_text->Tid(0, 0));
  EXPECT_EQ(QueryInt("SELECT id FROM cells WHERE ctid = $1::tid", {*addr->Tid(0, 0)}), 2);

  // Pipelined: each statement its own format.
  auto both = (*conn)->ExecuteAtomically(
      std::vector<Statement>{{.sql = "SELECT b, at, ids FROM cells WHERE id = $1",
                              .params = {1},
                              .result_format = ResultFormat::kBinary},
                             {.sql = "SELECT b, at FROM cells WHERE id = $1", .params = {1}}});
  ASSERT_TRUE(both.ok()) << both.status();
  EXPECT_TRUE((*both)[0].is_binary(0));
  EXPECT_EQ(*(*both)[0].Int64(0, 0), -9'000'000'000);
  EXPECT_EQ(*(*both)[0].Time(0, 1), at);
  EXPECT_EQ(*(*both)[0].Int64Array(0, 2), ids);
  EXPECT_FALSE((*both)[1].is_binary(0));
  EXPECT_EQ((*both)[1].Text(0, 0), "-9000000000");
  EXPECT_EQ(*(*both)[1].Time(0, 1), at);
}

TEST_F(PgTest, UniqueViolationIsAlreadyExistsNamingSqlStateAndConstraint) {
  ASSERT_TRUE(Query("CREATE TABLE tickets (id bigint PRIMARY KEY, request_id text "
                    "CONSTRAINT tickets_request_id_key UNIQUE)")
                  .ok());
  ASSERT_TRUE(Query("INSERT INTO tickets VALUES (1, 'req-1')").ok());
  auto again = Query("INSERT INTO tickets VALUES ($1, $2)", {2, "req-1"});
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(again.status().message(), HasSubstr("SQLSTATE 23505"));
  EXPECT_THAT(again.status().message(), HasSubstr("duplicate key value"));
  EXPECT_EQ(SqlState(again.status()), "23505");
  EXPECT_EQ(ConstraintName(again.status()), "tickets_request_id_key");
}

TEST_F(PgTest, DataAndReferenceErrorsMapToClientCodes) {
  auto bad_int = Query("SELECT $1::int", {"forty-two"});
  EXPECT_EQ(bad_int.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(SqlState(bad_int.status()), "22P02");

  // Execute takes one statement; several go through ExecuteScript.
  EXPECT_EQ(Query("SELECT 1; SELECT 2").status().code(), absl::StatusCode::kInternal);
  auto lease = pool_->Acquire();
  ASSERT_TRUE(lease.ok());
  ASSERT_TRUE((*lease)
                  ->ExecuteScript("CREATE TABLE tenants (id int PRIMARY KEY); "
                                  "CREATE TABLE tickets (tenant_id int REFERENCES tenants)")
                  .ok());
  auto orphan = (*lease)->Execute("INSERT INTO tickets VALUES ($1)", {99});
  EXPECT_EQ(orphan.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(SqlState(orphan.status()), "23503");

  auto syntax = (*lease)->Execute("SELEC 1");
  EXPECT_EQ(syntax.status().code(), absl::StatusCode::kInternal);
  EXPECT_THAT(syntax.status().message(), HasSubstr("42601"));
  EXPECT_TRUE((*lease)->Execute("SELECT 1").ok()) << "an error leaves the session usable";
}

TEST_F(PgTest, StatementTimeoutIsDeadlineExceededAndTheConnectionStaysUsable) {
  auto pool = MakePool({.size = 1, .statement_timeout = absl::Milliseconds(100)});
  ASSERT_TRUE(pool.ok());
  auto lease = (*pool)->Acquire();
  ASSERT_TRUE(lease.ok()) << lease.status();
  absl::Time start = absl::Now();
  auto slow = (*lease)->Execute("SELECT pg_sleep(30)");
  EXPECT_EQ(slow.status().code(), absl::StatusCode::kDeadlineExceeded) << slow.status();
  EXPECT_EQ(SqlState(slow.status()), "57014");
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
  EXPECT_TRUE((*lease)->Execute("SELECT 1").ok());
}

TEST(PgPoolTest, RejectsMalformedDsnAndReportsRefusedConnectionsAsUnavailable) {
  EXPECT_EQ(Pool::Create({.dsn = "host=127.0.0.1 port"}).status().code(),
            absl::StatusCode::kInvalidArgument);
  auto pool = Pool::Create(
      {.dsn = absl::StrCat("postgresql://postgres@127.0.0.1:", testing::FreePort(), "/x")});
  ASSERT_TRUE(pool.ok()) << pool.status();
  auto lease = (*pool)->Acquire();
  EXPECT_EQ(lease.status().code(), absl::StatusCode::kUnavailable) << lease.status();
  EXPECT_EQ((*pool)->Ping().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ((*pool)->open_connections(), 0);
}

TEST_F(PgTest, AcquireGivesUpAtTheDeadlineWhenAllConnectionsAreLeased) {
  auto pool = MakePool({.size = 1});
  ASSERT_TRUE(pool.ok());
  std::optional<Lease> held;
  {
    auto lease = (*pool)->Acquire();
    ASSERT_TRUE(lease.ok()) << lease.status();
    held.emplace(*std::move(lease));
  }
  absl::Time start = absl::Now();
  auto busy = (*pool)->Acquire(absl::Now() + absl::Milliseconds(100));
  EXPECT_EQ(busy.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(100));

  absl::Status waiter_status;
  std::thread waiter([&] {
    auto lease = (*pool)->Acquire(absl::Now() + absl::Seconds(30));
    waiter_status = lease.status();
  });
  held.reset();
  waiter.join();
  EXPECT_TRUE(waiter_status.ok()) << waiter_status;
  EXPECT_EQ((*pool)->open_connections(), 1);
}

// Ends a backend from another session and waits until it is gone.
void TerminateBackend(Pool& admin, int pid) {
  auto lease = admin.Acquire();
  ASSERT_TRUE(lease.ok());
  ASSERT_TRUE((*lease)->Execute("SELECT pg_terminate_backend($1)", {pid}).ok());
  ASSERT_TRUE(testing::WaitFor(
      [&] {
        auto r = (*lease)->Execute("SELECT count(*) FROM pg_stat_activity WHERE pid = $1", {pid});
        return r.ok() && *r->Int64(0, 0) == 0;
      },
      absl::Seconds(30)));
}

TEST_F(PgTest, IdleConnectionTheServerClosedIsNotHandedOutAgain) {
  auto pool = MakePool({.size = 1});
  ASSERT_TRUE(pool.ok());
  int first_pid = 0;
  {
    auto lease = (*pool)->Acquire();
    ASSERT_TRUE(lease.ok());
    first_pid = (*lease)->backend_pid();
  }
  TerminateBackend(*pool_, first_pid);

  auto lease = (*pool)->Acquire();
  ASSERT_TRUE(lease.ok()) << lease.status();
  EXPECT_NE((*lease)->backend_pid(), first_pid);
  EXPECT_TRUE((*lease)->Execute("SELECT 1").ok());
}

TEST_F(PgTest, ConnectionBrokenDuringALeaseIsReplacedNotReused) {
  auto pool = MakePool({.size = 1});
  ASSERT_TRUE(pool.ok());
  int first_pid = 0;
  {
    auto lease = (*pool)->Acquire();
    ASSERT_TRUE(lease.ok());
    first_pid = (*lease)->backend_pid();
    TerminateBackend(*pool_, first_pid);
    auto lost = (*lease)->Execute("SELECT 1");
    EXPECT_EQ(lost.status().code(), absl::StatusCode::kUnavailable) << lost.status();
    EXPECT_FALSE((*lease)->healthy());
  }
  EXPECT_EQ((*pool)->open_connections(), 0);
  auto lease = (*pool)->Acquire();
  ASSERT_TRUE(lease.ok()) << lease.status();
  EXPECT_NE((*lease)->backend_pid(), first_pid);
  EXPECT_TRUE((*lease)->Execute("SELECT 1").ok());
}

TEST_F(PgTest, WithTransactionCommitsOrRollsBackEverything) {
  ASSERT_TRUE(Query("CREATE TABLE tickets (id int PRIMARY KEY)").ok());
  absl::Status committed = WithTransaction(*pool_, [](Connection& tx) {
    return tx.Execute("INSERT INTO tickets VALUES (1), (2)").status();
  });
  EXPECT_TRUE(committed.ok()) << committed;

  int runs = 0;
  absl::Status failed = WithTransaction(*pool_, [&runs](Connection& tx) {
    ++runs;
    absl::Status st = tx.Execute("INSERT INTO tickets VALUES (3)").status();
    if (!st.ok()) return st;
    return absl::NotFoundError("agent went offline");
  });
  EXPECT_EQ(failed, absl::NotFoundError("agent went offline"));
  EXPECT_EQ(runs, 1);
  EXPECT_EQ(QueryInt("SELECT count(*) FROM tickets"), 2);
  EXPECT_EQ(pool_->open_connections(), 1) << "the rolled-back connection is reused";
}

TEST_F(PgTest, ExecuteAtomicallyCommitsEveryStatementTogetherAndReturnsTheirResults) {
  ASSERT_TRUE(Query("CREATE TABLE tickets (id int PRIMARY KEY, subject text NOT NULL)").ok());
  ASSERT_TRUE(Query("CREATE TABLE history (ticket_id int, action text)").ok());
  auto conn = pool_->Acquire();
  ASSERT_TRUE(conn.ok()) << conn.status();
  auto results = (*conn)->ExecuteAtomically({
      {"INSERT INTO tickets VALUES ($1, $2)", {1, "printer on fire"}},
      {"INSERT INTO history VALUES ($1, $2)", {1, "created"}},
      {"SELECT subject FROM tickets WHERE id = $1", {1}},
  });
  ASSERT_TRUE(results.ok()) << results.status();
  ASSERT_EQ(results->size(), 3u);
  EXPECT_EQ((*results)[0].affected_rows(), 1);
  ASSERT_EQ((*results)[2].rows(), 1);
  EXPECT_EQ((*results)[2].Text(0, 0), "printer on fire");
  EXPECT_FALSE((*conn)->in_transaction()) << "the implicit transaction ended at the sync";
  EXPECT_EQ(QueryInt("SELECT count(*) FROM history"), 1) << "committed: another session sees it";
}

TEST_F(PgTest, ExecuteAtomicallyRollsBackEverythingOnTheFirstFailureAndStaysUsable) {
  ASSERT_TRUE(Query("CREATE TABLE tickets (id int PRIMARY KEY)").ok());
  ASSERT_TRUE(Query("CREATE TABLE history (ticket_id int)").ok());
  ASSERT_TRUE(Query("INSERT INTO tickets VALUES (2)").ok());
  auto conn = pool_->Acquire();
  ASSERT_TRUE(conn.ok()) << conn.status();
  auto failed = (*conn)->ExecuteAtomically({
      {"INSERT INTO history VALUES ($1)", {2}},
      {"INSERT INTO tickets VALUES ($1)", {2}},  // duplicate key
      {"INSERT INTO history VALUES ($1)", {3}},
  });
  EXPECT_EQ(failed.status().code(), absl::StatusCode::kAlreadyExists) << failed.status();
  EXPECT_EQ(ConstraintName(failed.status()), "tickets_pkey");
  EXPECT_EQ(QueryInt("SELECT count(*) FROM history"), 0) << "the statement before it rolled back";
  EXPECT_TRUE((*conn)->healthy());
  auto after = (*conn)->Execute("SELECT 41 + 1");
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(*after->Int64(0, 0), 42);
}

TEST_F(PgTest, ExecuteAtomicallyInsideATransactionJoinsIt) {
  ASSERT_TRUE(Query("CREATE TABLE tickets (id int PRIMARY KEY)").ok());
  absl::Status st = WithTransaction(*pool_, [](Connection& tx) -> absl::Status {
    auto r = tx.ExecuteAtomically(
        {{"INSERT INTO tickets VALUES ($1)", {1}}, {"INSERT INTO tickets VALUES ($1)", {2}}});
    if (!r.ok()) return r.status();
    EXPECT_TRUE(tx.in_transaction());
    return absl::CancelledError("changed my mind");
  });
  EXPECT_EQ(st.code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(QueryInt("SELECT count(*) FROM tickets"), 0);
}

// How many statements this session has prepared (the server's own view).
int64_t PreparedCount(Connection& conn) {
  auto r = conn.Execute("SELECT count(*) FROM pg_prepared_statements WHERE name LIKE 'sundesk%'");
  EXPECT_TRUE(r.ok()) << r.status();
  return r.ok() ? r->Int64(0, 0).value_or(-1) : -1;
}

absl::StatusOr<std::unique_ptr<Connection>> OpenSession(const std::string& dsn,
                                                        int max_prepared = 256) {
  return Connection::Open({.dsn = dsn, .max_prepared_statements = max_prepared},
                          absl::Now() + absl::Seconds(10));
}

TEST_F(PgTest, RepeatedStatementsArePreparedOnceAndStayCorrect) {
  ASSERT_TRUE(Query("CREATE TABLE t (id int PRIMARY KEY, body text, raw bytea)").ok());
  auto conn = OpenSession(dsn_);
  ASSERT_TRUE(conn.ok()) << conn.status();
  for (int i = 0; i < 20; ++i) {
    auto r = (*conn)->Execute("INSERT INTO t VALUES ($1, $2, $3)",
                              {i, absl::StrCat("body ", i), Param::Bytea(std::string("\0x", 3))});
    ASSERT_TRUE(r.ok()) << r.status();
  }
  auto pipelined = (*conn)->ExecuteAtomically(
      {{"INSERT INTO t VALUES ($1, $2, $3)", {100, "a", Param::Bytea("x")}},
       {"SELECT body FROM t WHERE id = $1", {7}}});
  ASSERT_TRUE(pipelined.ok()) << pipelined.status();
  EXPECT_EQ((*pipelined)[1].Text(0, 0), "body 7");
  // One INSERT (shared by Execute and the pipeline), one SELECT, plus the count query.
  EXPECT_EQ(PreparedCount(**conn), 3);
  EXPECT_EQ(QueryInt("SELECT count(*) FROM t"), 21);
  // The same SQL with a NULL where text was: the same types, the same statement.
  auto with_null = (*conn)->Execute("INSERT INTO t VALUES ($1, $2, $3)",
                                    {200, Param::Null(), Param::Bytea("y")});
  ASSERT_TRUE(with_null.ok()) << with_null.status();
  EXPECT_EQ(PreparedCount(**conn), 3);
}

TEST_F(PgTest, AStatementTheServerRejectsIsNotRememberedAsPrepared) {
  ASSERT_TRUE(Query("CREATE TABLE t (id int PRIMARY KEY)").ok());
  auto conn = OpenSession(dsn_);
  ASSERT_TRUE(conn.ok()) << conn.status();
  auto bad = (*conn)->Execute("INSERT INTO missing_table VALUES ($1)", {1});
  EXPECT_EQ(SqlState(bad.status()), "42P01") << bad.status();
  // A pipeline that fails before its second statement's prepare runs: that statement is
  // not prepared, and running it later prepares it for real.
  auto failed = (*conn)->ExecuteAtomically({{"INSERT INTO t VALUES ($1)", {1}},
                                            {"INSERT INTO t VALUES ($1)", {1}},
                                            {"SELECT $1::int + 1", {1}}});
  EXPECT_EQ(failed.status().code(), absl::StatusCode::kAlreadyExists) << failed.status();
  auto later = (*conn)->ExecuteAtomically({{"SELECT $1::int + 1", {41}}});
  ASSERT_TRUE(later.ok()) << later.status();
  EXPECT_EQ(*(*later)[0].Int64(0, 0), 42);
  // Once the table exists, the statement that failed before prepares and runs.
  ASSERT_TRUE(Query("CREATE TABLE missing_table (id int)").ok());
  auto good = (*conn)->Execute("INSERT INTO missing_table VALUES ($1)", {1});
  ASSERT_TRUE(good.ok()) << good.status();
  EXPECT_TRUE((*conn)->healthy());
}

TEST_F(PgTest, PreparedStatementsSurviveSchemaChangesAndTheLimitHolds) {
  ASSERT_TRUE(Query("CREATE TABLE t (id int PRIMARY KEY)").ok());
  auto conn = OpenSession(dsn_, /*max_prepared=*/2);
  ASSERT_TRUE(conn.ok()) << conn.status();
  ASSERT_TRUE((*conn)->Execute("INSERT INTO t (id) VALUES ($1)", {1}).ok());
  ASSERT_TRUE(Query("ALTER TABLE t ADD COLUMN note text DEFAULT 'n'").ok());
  ASSERT_TRUE((*conn)->Execute("INSERT INTO t (id) VALUES ($1)", {2}).ok());
  auto read = (*conn)->Execute("SELECT note FROM t WHERE id = $1", {2});
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->Text(0, 0), "n");
  // The limit (2) is reached: further statements run unprepared, and still run.
  auto third = (*conn)->Execute("SELECT count(*) FROM t WHERE id > $1", {0});
  ASSERT_TRUE(third.ok()) << third.status();
  EXPECT_EQ(*third->Int64(0, 0), 2);
  EXPECT_EQ(PreparedCount(**conn), 2);

  auto unprepared = OpenSession(dsn_, /*max_prepared=*/0);
  ASSERT_TRUE(unprepared.ok()) << unprepared.status();
  ASSERT_TRUE((*unprepared)->Execute("INSERT INTO t (id) VALUES ($1)", {3}).ok());
  EXPECT_EQ(PreparedCount(**unprepared), 0);
}

TEST_F(PgTest, WithTransactionRetriesARealSerializationFailure) {
  // At least one agent must stay on duty; two agents go off duty at the same moment.
  ASSERT_TRUE(
      Query("CREATE TABLE on_duty (agent text PRIMARY KEY, on_duty boolean NOT NULL)").ok());
  ASSERT_TRUE(Query("INSERT INTO on_duty VALUES ('ana', true), ('ben', true)").ok());
  Rendezvous both_read(2);
  std::atomic<int> runs{0};
  auto go_off_duty = [&](const std::string& agent) {
    bool first_run = true;
    return WithTransaction(
        *pool_,
        [&](Connection& tx) -> absl::Status {
          ++runs;
          auto on = tx.Execute("SELECT count(*) FROM on_duty WHERE on_duty");
          if (!on.ok()) return on.status();
          if (first_run) {
            first_run = false;
            if (!both_read.Arrive()) return absl::DeadlineExceededError("no rendezvous");
          }
          if (*on->Int64(0, 0) < 2) return absl::OkStatus();
          return tx.Execute("UPDATE on_duty SET on_duty = false WHERE agent = $1", {agent})
              .status();
        },
        {.isolation = Isolation::kSerializable});
  };
  absl::Status ana, ben;
  std::thread a([&] { ana = go_off_duty("ana"); });
  std::thread b([&] { ben = go_off_duty("ben"); });
  a.join();
  b.join();
  EXPECT_TRUE(ana.ok()) << ana;
  EXPECT_TRUE(ben.ok()) << ben;
  EXPECT_GE(runs.load(), 3) << "one of the two must have been retried";
  EXPECT_EQ(QueryInt("SELECT count(*) FROM on_duty WHERE on_duty"), 1);
}

TEST_F(PgTest, WithTransactionRetriesTheVictimOfADeadlock) {
  ASSERT_TRUE(Query("CREATE TABLE load (agent text PRIMARY KEY, tickets int NOT NULL)").ok());
  ASSERT_TRUE(Query("INSERT INTO load VALUES ('ana', 0), ('ben', 0)").ok());
  Rendezvous both_locked(2);
  std::atomic<int> runs{0};
  auto move_ticket = [&](const std::string& from, const std::string& to) {
    bool first_run = true;
    return WithTransaction(*pool_, [&](Connection& tx) -> absl::Status {
      ++runs;
      auto st = tx.Execute("UPDATE load SET tickets = tickets - 1 WHERE agent = $1", {from});
      if (!st.ok()) return st.status();
      if (first_run) {
        first_run = false;
        if (!both_locked.Arrive()) return absl::DeadlineExceededError("no rendezvous");
      }
      return tx.Execute("UPDATE load SET tickets = tickets + 1 WHERE agent = $1", {to}).status();
    });
  };
  absl::Status one, two;
  std::thread a([&] { one = move_ticket("ana", "ben"); });
  std::thread b([&] { two = move_ticket("ben", "ana"); });
  a.join();
  b.join();
  EXPECT_TRUE(one.ok()) << one;
  EXPECT_TRUE(two.ok()) << two;
  EXPECT_EQ(runs.load(), 3);
  EXPECT_EQ(QueryInt("SELECT sum(abs(tickets)) FROM load"), 0);
}

TEST_F(PgTest, WithTransactionGivesUpAfterMaxAttempts) {
  int runs = 0;
  absl::Status st = WithTransaction(*pool_,
                                    [&runs](Connection&) {
                                      ++runs;
                                      return ServerError("40001", "could not serialize access");
                                    },
                                    {.max_attempts = 3});
  EXPECT_EQ(st.code(), absl::StatusCode::kAborted);
  EXPECT_EQ(SqlState(st), "40001");
  EXPECT_THAT(st.message(), HasSubstr("after 3 attempts"));
  EXPECT_EQ(runs, 3);
}

TEST_F(PgTest, SwallowedErrorInsideATransactionIsNotReportedAsCommitted) {
  ASSERT_TRUE(Query("CREATE TABLE tickets (id int PRIMARY KEY)").ok());
  absl::Status st = WithTransaction(*pool_, [](Connection& tx) {
    (void)tx.Execute("INSERT INTO tickets VALUES (1)");
    (void)tx.Execute("INSERT INTO tickets VALUES (1)");  // duplicate, error ignored
    return absl::OkStatus();
  });
  EXPECT_FALSE(st.ok());
  EXPECT_EQ(QueryInt("SELECT count(*) FROM tickets"), 0);
}

TEST_F(PgTest, ReadOnlyTransactionRejectsWrites) {
  ASSERT_TRUE(Query("CREATE TABLE tickets (id int PRIMARY KEY)").ok());
  absl::Status st = WithTransaction(
      *pool_, [](Connection& tx) { return tx.Execute("INSERT INTO tickets VALUES (1)").status(); },
      {.read_only = true});
  EXPECT_EQ(SqlState(st), "25006") << st;
  EXPECT_EQ(QueryInt("SELECT count(*) FROM tickets"), 0);
}

TEST_F(PgTest, ListenerWakesWhenANotifyingTransactionCommits) {
  auto listener = Listener::Create({.dsn = dsn_, .channels = {"outbox"}});
  ASSERT_TRUE(listener.ok()) << listener.status();
  auto quiet = (*listener)->Wait(absl::Milliseconds(50));
  ASSERT_TRUE(quiet.ok()) << quiet.status();
  EXPECT_TRUE(quiet->notifications.empty());
  EXPECT_FALSE(quiet->maybe_missed);

  absl::Status st = WithTransaction(*pool_, [&](Connection& tx) {
    absl::Status notify = tx.Execute("SELECT pg_notify('outbox', $1)", {"ticket-7"}).status();
    auto before_commit = (*listener)->Wait(absl::Milliseconds(100));
    EXPECT_TRUE(before_commit.ok() && before_commit->notifications.empty());
    return notify;
  });
  ASSERT_TRUE(st.ok()) << st;

  absl::Time start = absl::Now();
  auto woken = (*listener)->Wait(absl::Seconds(30));
  ASSERT_TRUE(woken.ok()) << woken.status();
  ASSERT_EQ(woken->notifications.size(), 1u);
  EXPECT_EQ(woken->notifications[0].channel, "outbox");
  EXPECT_EQ(woken->notifications[0].payload, "ticket-7");
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
}

TEST_F(PgTest, PoolAndListenerRecoverWhenTheServerRestartsOrCrashes) {
  testing::PostgresServer& server = SharedServer();
  auto listener = Listener::Create({.dsn = dsn_, .channels = {"outbox"}});
  ASSERT_TRUE(listener.ok()) << listener.status();
  ASSERT_TRUE(pool_->Ping().ok());

  ASSERT_TRUE(server.Restart().ok());
  // The pooled session died with the old server; the pool notices before handing it out.
  EXPECT_TRUE(pool_->Ping().ok());
  auto after_restart = (*listener)->Wait(absl::Seconds(30));
  ASSERT_TRUE(after_restart.ok()) << after_restart.status();
  EXPECT_TRUE(after_restart->maybe_missed);
  ASSERT_TRUE(Query("NOTIFY outbox, 'after-restart'").ok());
  auto woken = (*listener)->Wait(absl::Seconds(30));
  ASSERT_TRUE(woken.ok()) << woken.status();
  ASSERT_EQ(woken->notifications.size(), 1u);
  EXPECT_EQ(woken->notifications[0].payload, "after-restart");

  server.Kill();
  absl::Time start = absl::Now();
  EXPECT_EQ(pool_->Ping().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ((*listener)->Wait(absl::Milliseconds(200)).status().code(),
            absl::StatusCode::kUnavailable);
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));

  ASSERT_TRUE(server.Restart().ok());
  EXPECT_TRUE(pool_->Ping().ok());
  auto after_crash = (*listener)->Wait(absl::Seconds(30));
  ASSERT_TRUE(after_crash.ok()) << after_crash.status();
  EXPECT_TRUE(after_crash->maybe_missed);
}

TEST(PgDurabilityTest, CommittedTransactionsSurviveAServerCrash) {
  // syncfs: after a crash the server syncs the data dir with one call, not file by file.
  auto server = testing::PostgresServer::Start(
      {.fsync = true, .settings = {{"recovery_init_sync_method", "syncfs"}}});
  ASSERT_TRUE(server.ok()) << server.status();
  auto pool = Pool::Create({.dsn = (*server)->dsn()});
  ASSERT_TRUE(pool.ok());
  ASSERT_TRUE(WithTransaction(**pool, [](Connection& tx) {
                return tx.Execute("CREATE TABLE tickets (id int PRIMARY KEY)").status();
              }).ok());
  for (int id = 1; id <= 20; ++id) {
    ASSERT_TRUE(WithTransaction(**pool, [id](Connection& tx) {
                  return tx.Execute("INSERT INTO tickets VALUES ($1)", {id}).status();
                }).ok());
  }
  (*server)->Kill();
  ASSERT_TRUE((*server)->Restart().ok());
  auto lease = (*pool)->Acquire();
  ASSERT_TRUE(lease.ok()) << lease.status();
  auto count = (*lease)->Execute("SELECT count(*) FROM tickets");
  ASSERT_TRUE(count.ok()) << count.status();
  EXPECT_EQ(*count->Int64(0, 0), 20);
}

}  // namespace
}  // namespace sundesk::pg
