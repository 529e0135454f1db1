// A routing-server process (see routing_processes.h), AUTO_ASSIGN mode, when Redis loses its
// data (FLUSHALL, and a redis-server restarted empty): presence comes back with the agents'
// heartbeats and the loads are rebuilt from routing's own records (PostgreSQL: open offers
// and routing's copy of the assignments), so no agent goes above its capacity.
#include "tests/services/routing/routing_processes.h"

namespace sundesk::routing {
namespace {

TEST_F(RoutingProcessesTest, RedisLosingItsDataRebuildsPresenceAndLoadsWithoutOverfilling) {
  const std::string tenant = NewTenant("Forgetful");
  NewAgents(10, 3, tenant);
  StartRouting(0);
  StartHeartbeats(absl::Seconds(1));
  StartSampler(tenant);
  // 60 tickets for 30 places: the agents fill up, 30 tickets wait.
  const std::vector<std::string> tickets = NewTickets(tenant, 60);
  ASSERT_EQ(tickets.size(), 60u);
  auto full = [&] {
    std::map<std::string, int64_t> open = OpenAssignments(tenant);
    int64_t total = 0;
    for (const auto& [agent, n] : open) total += n;
    return total == 30;
  };
  ASSERT_TRUE(testing::WaitFor(full, absl::Seconds(40))) << Logs();

  auto loads_match_assignments = [&] {
    std::map<std::string, int64_t> loads = RedisLoads();
    std::map<std::string, int64_t> open = OpenAssignments(tenant);
    for (const std::string& agent : agents_) {
      if (loads[agent] != open[agent]) return false;
    }
    return true;
  };
  auto all_available = [&] {
    std::vector<std::vector<std::string>> commands;
    for (const std::string& agent : agents_) {
      commands.push_back({"HGET", absl::StrCat(kRedisPrefix, "presence:", agent), "status"});
    }
    auto replies = redis_->Pipeline(commands);
    if (!replies.ok()) return false;
    for (const redis::Reply& r : *replies) {
      if (r.is_nil() || r.str != "1") return false;  // 1 = AVAILABLE
    }
    return true;
  };
  ASSERT_TRUE(testing::WaitFor(loads_match_assignments, absl::Seconds(10)));
  // And the other 30 wait in routing's queue before Redis loses anything: the places can be
  // full before routing's consumer applied every ticket (once only 11 of the 30 were in
  // the queue at the check after the restart below, none placed), and the loss must hit
  // tickets that wait.
  const std::string waiting_sql = absl::StrCat(
      "SELECT count(*) FROM routing.tickets WHERE queued_time IS NOT NULL AND "
      "tenant_id = '",
      tenant, "'");
  ASSERT_TRUE(testing::WaitFor([&] { return Count(waiting_sql) == 30; }, absl::Seconds(20)))
      << "waiting in routing's queue: " << Count(waiting_sql) << "\n"
      << Logs();

  // FLUSHALL: presence comes back with the next heartbeats, and the loads are rebuilt from
  // routing's records, so the 30 waiting tickets still find no room.
  ASSERT_TRUE(redis_->Command({"FLUSHALL"}).ok());
  EXPECT_TRUE(testing::WaitFor(all_available, absl::Seconds(10)));
  EXPECT_TRUE(testing::WaitFor(loads_match_assignments, absl::Seconds(10))) << "loads not rebuilt\n"
                                                                            << Logs();
  // The rebuild is announced in routing's log; and a redis-server restarted empty (a
  // crash, or a failover to an empty replica) is the same story.
  EXPECT_TRUE(testing::WaitFor(
      [&] { return servers_[0]->Log().find("loads rebuilt") != std::string::npos; },
      absl::Seconds(5)));
  redis_server_->Kill();
  ASSERT_TRUE(redis_server_->Restart().ok());
  EXPECT_TRUE(testing::WaitFor(all_available, absl::Seconds(15)));
  EXPECT_TRUE(testing::WaitFor(loads_match_assignments, absl::Seconds(15)))
      << "loads not rebuilt after the restart\n"
      << Logs();
  EXPECT_EQ(Count(waiting_sql), 30);  // none placed while the loads were unknown

  // Agents work through their tickets: the rest get assigned, each once, nobody overfilled.
  StartWorker(tenant);
  EXPECT_TRUE(testing::WaitFor([&] { return Assignments(tenant).size() == tickets.size(); },
                               absl::Seconds(30)))
      << "assigned " << Assignments(tenant).size() << " of " << tickets.size() << "\n"
      << Logs();
  StopWorker();
  StopSampler();
  ExpectEachAssignedOnce(tenant, tickets);
  EXPECT_LE(max_assigned_, 3) << "an agent held more than its capacity in the ticket service";
  EXPECT_LE(max_redis_load_, 3) << "an agent's load in Redis went above its capacity";
}

}  // namespace
}  // namespace sundesk::routing
