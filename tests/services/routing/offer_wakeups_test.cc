// PgOfferWakeups on a real PostgreSQL: an offer changed through one replica reaches the
// sessions of another (LISTEN/NOTIFY after the commit) without waiting for their poll; the
// replica's own sessions are told at once and not again by its own notification.
#include <map>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "gtest/gtest.h"
#include "services/routing/store/migrations.h"
#include "services/routing/store/pg_offer_wakeups.h"
#include "tests/support/migrated_database.h"
#include "tests/support/process.h"

namespace sundesk::routing {
namespace {

// A replica's sessions: which agents they were told about, how often.
class Told : public OfferListener {
 public:
  void OffersChanged(const std::string& agent_id) override {
    absl::MutexLock lock(&mu_);
    ++told_[agent_id];
  }
  int Times(const std::string& agent_id) {
    absl::MutexLock lock(&mu_);
    auto it = told_.find(agent_id);
    return it == told_.end() ? 0 : it->second;
  }
  int Agents() {
    absl::MutexLock lock(&mu_);
    return static_cast<int>(told_.size());
  }

 private:
  absl::Mutex mu_;
  std::map<std::string, int> told_ ABSL_GUARDED_BY(mu_);
};

class PgOfferWakeupsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto db = testing::MigratedDatabase::Start({.schemas = {{"routing", Migrations()}}});
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = db->release();
  }
  static void TearDownTestSuite() { delete db_; }

  static std::unique_ptr<PgOfferWakeups> Replica(Told& sessions) {
    auto w = PgOfferWakeups::Create(*db_->pool, sessions, {.dsn = db_->dsn});
    EXPECT_TRUE(w.ok()) << w.status();
    return w.ok() ? std::move(*w) : nullptr;
  }

  // Two replicas of routing-server, each with its own sessions.
  void SetUp() override {
    a_ = Replica(a_sessions_);
    b_ = Replica(b_sessions_);
    ASSERT_NE(a_, nullptr);
    ASSERT_NE(b_, nullptr);
  }

  static inline testing::MigratedDatabase* db_ = nullptr;
  Told a_sessions_;
  Told b_sessions_;
  std::unique_ptr<PgOfferWakeups> a_;  // destroyed before the sessions it tells
  std::unique_ptr<PgOfferWakeups> b_;
};

TEST_F(PgOfferWakeupsTest, AnotherReplicasOfferReachesThisReplicasSessions) {
  a_->OffersChanged("ana");
  EXPECT_EQ(a_sessions_.Times("ana"), 1);  // its own sessions: at once
  EXPECT_TRUE(testing::WaitFor([&] { return b_sessions_.Times("ana") == 1; }, absl::Seconds(10)))
      << "replica B's sessions were not told";

  // One LISTENing session receives notifications in commit order: once A has B's "bo", it
  // has seen its own "ana" before it, and skipped it.
  b_->OffersChanged("bo");
  EXPECT_TRUE(testing::WaitFor([&] { return a_sessions_.Times("bo") == 1; }, absl::Seconds(10)));
  EXPECT_EQ(a_sessions_.Times("ana"), 1);
  EXPECT_EQ(b_sessions_.Times("bo"), 1);  // told locally only
}

TEST_F(PgOfferWakeupsTest, ManyAgentsAtOnceAllArrive) {
  // More than one notification's payload (8000 bytes) of agents.
  constexpr int kAgents = 2000;
  for (int i = 0; i < kAgents; ++i) a_->OffersChanged(absl::StrCat("agent-many-", i));
  EXPECT_TRUE(testing::WaitFor([&] { return b_sessions_.Agents() == kAgents; }, absl::Seconds(20)))
      << b_sessions_.Agents() << " of " << kAgents;
  EXPECT_EQ(b_sessions_.Times("agent-many-1999"), 1);
  EXPECT_EQ(a_sessions_.Agents(), kAgents);
}

}  // namespace
}  // namespace sundesk::routing
