#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/core/log.h"
#include "libs/redis/pool.h"
#include "libs/redis/reply.h"
#include "libs/redis/script.h"
#include "tests/support/process.h"
#include "tests/support/redis_server.h"

namespace sundesk::redis {
namespace {

using ::testing::HasSubstr;

testing::RedisServer* shared_server = nullptr;

// One redis-server for the whole binary.
class RedisEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    auto server = testing::RedisServer::Start();
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    shared_server = server_.get();
  }
  void TearDown() override {
    shared_server = nullptr;
    server_.reset();
  }

 private:
  std::unique_ptr<testing::RedisServer> server_;
};

const auto* const kEnvironment = ::testing::AddGlobalTestEnvironment(new RedisEnvironment);

class RedisTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto pool = MakePool();
    ASSERT_TRUE(pool.ok()) << pool.status();
    pool_ = *std::move(pool);
    ASSERT_TRUE(pool_->Command({"FLUSHALL"}).ok());
  }

  static absl::StatusOr<std::unique_ptr<Pool>> MakePool(PoolOptions options = {}) {
    options.port = shared_server->port();
    return Pool::Create(std::move(options));
  }

  Reply Must(absl::StatusOr<Reply> reply) {
    EXPECT_TRUE(reply.ok()) << reply.status();
    return reply.ok() ? *std::move(reply) : Reply{.type = ReplyType::kError, .str = "failed"};
  }

  std::unique_ptr<Pool> pool_;
};

Reply Str(std::string s) { return {.type = ReplyType::kString, .str = std::move(s)}; }
Reply Int(int64_t n) { return {.type = ReplyType::kInteger, .integer = n}; }
Reply Ok() { return {.type = ReplyType::kStatus, .str = "OK"}; }
Reply Nil() { return {}; }

TEST_F(RedisTest, CommandsRoundTripEveryReplyType) {
  EXPECT_EQ(Must(pool_->Command({"SET", "agent:ana:status", "online"})), Ok());
  EXPECT_EQ(Must(pool_->Command({"GET", "agent:ana:status"})), Str("online"));
  EXPECT_EQ(Must(pool_->Command({"GET", "agent:nobody:status"})), Nil());
  EXPECT_EQ(Must(pool_->Command({"INCR", "agent:ana:load"})), Int(1));
  Reply many = Must(pool_->Command({"MGET", "agent:ana:status", "missing", "agent:ana:load"}));
  EXPECT_EQ(many, (Reply{.type = ReplyType::kArray, .elements = {Str("online"), Nil(), Str("1")}}))
      << many.DebugString();
  EXPECT_TRUE(pool_->Ping().ok());
}

TEST_F(RedisTest, KeysAndValuesAreBinarySafe) {
  std::string key("offer:\0\r\n", 9);
  std::string value("\0\1\2\r\n$3\r\n\xff\xfe", 12);
  ASSERT_EQ(Must(pool_->Command({"SET", key, value})), Ok());
  EXPECT_EQ(Must(pool_->Command({"GET", key})), Str(value));
  EXPECT_EQ(Must(pool_->Command({"STRLEN", key})), Int(12));
}

TEST_F(RedisTest, ErrorReplyIsAStatusNamingTheError) {
  ASSERT_TRUE(pool_->Command({"SET", "queue", "not a list"}).ok());
  auto pushed = pool_->Command({"LPUSH", "queue", "ticket-1"});
  EXPECT_EQ(pushed.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ErrorKind(pushed.status()), "WRONGTYPE");
  EXPECT_THAT(pushed.status().message(), HasSubstr("WRONGTYPE"));
  EXPECT_TRUE(pool_->Ping().ok()) << "an error reply leaves the connection usable";
  EXPECT_EQ(pool_->open_connections(), 1);
}

TEST_F(RedisTest, PipelineSendsManyCommandsAndKeepsErrorsInTheirSlot) {
  std::vector<std::vector<std::string>> commands;
  for (int i = 0; i < 100; ++i) commands.push_back({"INCR", "offers"});
  commands.push_back({"SET", "s", "text"});
  commands.push_back({"INCR", "s"});
  commands.push_back({"GET", "offers"});
  auto replies = pool_->Pipeline(commands);
  ASSERT_TRUE(replies.ok()) << replies.status();
  ASSERT_EQ(replies->size(), 103u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ((*replies)[i], Int(i + 1));
  EXPECT_EQ((*replies)[100], Ok());
  EXPECT_TRUE((*replies)[101].is_error());
  EXPECT_THAT((*replies)[101].str, HasSubstr("not an integer"));
  EXPECT_EQ((*replies)[102], Str("100"));
}

TEST_F(RedisTest, ScriptRunsBySha1AndSurvivesScriptFlush) {
  const Script claim(R"lua(
    local load = tonumber(redis.call('HGET', KEYS[1], 'load') or '0')
    if load >= tonumber(ARGV[1]) then return 0 end
    redis.call('HINCRBY', KEYS[1], 'load', 1)
    return 1
  )lua");
  EXPECT_EQ(Must(claim.Run(*pool_, {"agent:ana"}, {"2"})), Int(1));
  EXPECT_EQ(Must(claim.Run(*pool_, {"agent:ana"}, {"2"})), Int(1));
  EXPECT_EQ(Must(claim.Run(*pool_, {"agent:ana"}, {"2"})), Int(0));

  ASSERT_EQ(Must(pool_->Command({"SCRIPT", "FLUSH"})), Ok());
  EXPECT_EQ(Must(claim.Run(*pool_, {"agent:ben"}, {"2"})), Int(1));
  // The fallback put the script back: EVALSHA works again without it.
  Reply sha = Must(pool_->Command({"SCRIPT", "LOAD", claim.source()}));
  EXPECT_EQ(Must(pool_->Command({"SCRIPT", "EXISTS", sha.str})),
            (Reply{.type = ReplyType::kArray, .elements = {Int(1)}}));
  EXPECT_EQ(Must(pool_->Command({"HGET", "agent:ben", "load"})), Str("1"));
}

TEST_F(RedisTest, ScriptErrorsAreStatusesWithTheScriptsPrefix) {
  const Script refuse("return redis.error_reply('AGENT_FULL agent ' .. KEYS[1] .. ' is full')");
  auto reply = refuse.Run(*pool_, {"ana"}, {});
  EXPECT_FALSE(reply.ok());
  EXPECT_EQ(ErrorKind(reply.status()), "AGENT_FULL");
  EXPECT_THAT(reply.status().message(), HasSubstr("agent ana is full"));
}

TEST_F(RedisTest, NoReplyWithinTheCommandTimeoutIsDeadlineExceeded) {
  auto pool = MakePool({.size = 1, .command_timeout = absl::Milliseconds(100)});
  ASSERT_TRUE(pool.ok());
  absl::Time start = absl::Now();
  auto blocked = (*pool)->Command({"BLPOP", "empty-queue", "5"});
  EXPECT_EQ(blocked.status().code(), absl::StatusCode::kDeadlineExceeded) << blocked.status();
  EXPECT_LT(absl::Now() - start, absl::Seconds(3));
  // The timed-out connection is not reused: its late reply must not answer this command.
  EXPECT_EQ(Must((*pool)->Command({"ECHO", "fresh"})), Str("fresh"));
  EXPECT_EQ((*pool)->open_connections(), 1);

  auto sleepy = (*pool)->Command({"DEBUG", "SLEEP", "0.5"});
  EXPECT_EQ(sleepy.status().code(), absl::StatusCode::kDeadlineExceeded) << sleepy.status();
}

TEST_F(RedisTest, AcquireGivesUpAtTheDeadlineWhenAllConnectionsAreLeased) {
  auto pool = MakePool({.size = 1});
  ASSERT_TRUE(pool.ok());
  auto held = (*pool)->Acquire();
  ASSERT_TRUE(held.ok());
  auto busy = (*pool)->Acquire(absl::Now() + absl::Milliseconds(50));
  EXPECT_EQ(busy.status().code(), absl::StatusCode::kUnavailable);
}

TEST_F(RedisTest, PoolIsSafeToShareBetweenThreads) {
  auto pool = MakePool({.size = 3});
  ASSERT_TRUE(pool.ok());
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 500; ++i) {
        if (!(*pool)->Command({"INCR", "tickets-routed"}).ok()) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(Must(pool_->Command({"GET", "tickets-routed"})), Str("4000"));
  EXPECT_LE((*pool)->open_connections(), 3);
}

TEST_F(RedisTest, PasswordAndDatabaseAreAppliedOnEveryConnection) {
  auto server = testing::RedisServer::Start({.password = "s3cret"});
  ASSERT_TRUE(server.ok()) << server.status();
  auto wrong = Pool::Create({.port = (*server)->port(), .password = "nope"});
  ASSERT_TRUE(wrong.ok());
  EXPECT_EQ((*wrong)->Ping().code(), absl::StatusCode::kPermissionDenied);

  auto db3 = Pool::Create({.port = (*server)->port(), .password = "s3cret", .db = 3});
  auto db0 = Pool::Create({.port = (*server)->port(), .password = "s3cret"});
  ASSERT_TRUE(db3.ok() && db0.ok());
  ASSERT_TRUE((*db3)->Command({"SET", "presence", "db3"}).ok());
  EXPECT_EQ(Must((*db3)->Command({"GET", "presence"})), Str("db3"));
  EXPECT_EQ(Must((*db0)->Command({"GET", "presence"})), Nil());
}

TEST_F(RedisTest, PoolReconnectsAfterTheServerRestartsOrCrashes) {
  testing::RedisServer& server = *shared_server;
  auto pool = MakePool({.size = 2, .reconnect_backoff_max = absl::Milliseconds(200)});
  ASSERT_TRUE(pool.ok());
  ASSERT_TRUE((*pool)->Ping().ok());

  ASSERT_TRUE(server.Restart().ok());
  // The idle connection died with the old server; the pool notices before handing it out.
  EXPECT_TRUE((*pool)->Ping().ok());

  server.Kill();
  absl::Time start = absl::Now();
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ((*pool)->Ping().code(), absl::StatusCode::kUnavailable);
  }
  EXPECT_LT(absl::Now() - start, absl::Seconds(5)) << "callers must not hang while it is down";

  ASSERT_TRUE(server.Restart().ok());
  EXPECT_TRUE(testing::WaitFor([&] { return (*pool)->Ping().ok(); }, absl::Seconds(10)));
  const Script echo("return ARGV[1]");
  EXPECT_EQ(Must(echo.Run(**pool, {}, {"back"})), Str("back"));
}

}  // namespace
}  // namespace sundesk::redis
