#include "tests/libs/pg/pg_fixture.h"

#include <cctype>
#include <cstdlib>

#include "libs/core/log.h"

namespace sundesk::pg {
namespace {

testing::PostgresServer* shared_server = nullptr;

class PostgresEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    auto server = testing::PostgresServer::Start({.settings = {{"deadlock_timeout", "100ms"}}});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    shared_server = server_.get();
  }
  void TearDown() override {
    shared_server = nullptr;
    server_.reset();
  }

 private:
  std::unique_ptr<testing::PostgresServer> server_;
};

const auto* const kEnvironment = ::testing::AddGlobalTestEnvironment(new PostgresEnvironment);

}  // namespace

testing::PostgresServer& SharedServer() {
  if (shared_server == nullptr) {
    log::Error("the shared PostgreSQL server is not running");
    std::abort();
  }
  return *shared_server;
}

void PgTest::SetUp() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string name = std::string(info->test_suite_name()) + "_" + info->name();
  for (char& c : name) {
    c = std::isalnum(static_cast<unsigned char>(c)) ? std::tolower(c) : '_';
  }
  auto dsn = SharedServer().CreateDatabase(name.substr(0, 63));
  ASSERT_TRUE(dsn.ok()) << dsn.status();
  dsn_ = *dsn;
  auto pool = MakePool();
  ASSERT_TRUE(pool.ok()) << pool.status();
  pool_ = *std::move(pool);
}

absl::StatusOr<std::unique_ptr<Pool>> PgTest::MakePool(PoolOptions options) {
  if (options.dsn.empty()) options.dsn = dsn_;
  return Pool::Create(std::move(options));
}

absl::StatusOr<Result> PgTest::Query(absl::string_view sql, absl::Span<const Param> params) {
  auto lease = pool_->Acquire();
  if (!lease.ok()) return lease.status();
  return (*lease)->Execute(sql, params);
}

int64_t PgTest::QueryInt(absl::string_view sql, absl::Span<const Param> params) {
  auto result = Query(sql, params);
  EXPECT_TRUE(result.ok()) << sql << ": " << result.status();
  if (!result.ok() || result->rows() != 1) return -1;
  auto n = result->Int64(0, 0);
  EXPECT_TRUE(n.ok()) << n.status();
  return n.ok() ? *n : -1;
}

}  // namespace sundesk::pg
