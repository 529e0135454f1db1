// Two routing-server processes routing one queue in AUTO_ASSIGN mode (see
// routing_processes.h): 300 tickets to 30 agents of capacity 3 while agents solve what they
// get. Every ticket is assigned exactly once in the ticket service, and no agent ever holds
// more than its capacity there or in Redis.
#include "tests/services/routing/routing_processes.h"

namespace sundesk::routing {
namespace {

TEST_F(RoutingProcessesTest, TwoReplicasAssignEachTicketOnceAndNeverAboveCapacity) {
  const std::string tenant = NewTenant("Replicated");
  NewAgents(30, 3, tenant);
  StartRouting(0);
  StartRouting(1);
  AllAvailable(/*via=*/1);
  StartSampler(tenant);
  StartWorker(tenant);

  const std::vector<std::string> tickets = NewTickets(tenant, 300);
  ASSERT_EQ(tickets.size(), 300u);
  // Both replicas' consumers join the group (devkafka: ~3 s each) and both dispatchers route.
  EXPECT_TRUE(testing::WaitFor([&] { return Assignments(tenant).size() == tickets.size(); },
                               absl::Seconds(45)))
      << "assigned " << Assignments(tenant).size() << " of " << tickets.size() << "\n"
      << Logs();
  // The last assignments are solved too, so every load drops back to zero.
  EXPECT_TRUE(testing::WaitFor([&] { return solved_ >= static_cast<int>(tickets.size()); },
                               absl::Seconds(10)));
  StopWorker();
  StopSampler();

  ExpectEachAssignedOnce(tenant, tickets);
  EXPECT_GT(samples_, 0);
  EXPECT_LE(max_assigned_, 3) << "an agent held more than its capacity in the ticket service";
  EXPECT_LE(max_redis_load_, 3) << "an agent's load in Redis went above its capacity";
  {
    absl::MutexLock lock(&mu_);
    EXPECT_TRUE(over_capacity_.empty()) << *over_capacity_.begin();
  }
  // Every load drops back to zero once every ticket is solved (from the ticket events).
  EXPECT_TRUE(testing::WaitFor(
      [&] {
        std::map<std::string, int64_t> loads = RedisLoads();
        for (const auto& [agent, n] : loads) {
          if (n != 0) return false;
        }
        return loads.size() == agents_.size();
      },
      absl::Seconds(10)))
      << "loads did not drop back to zero once every ticket was solved";
  EXPECT_TRUE(servers_[0]->Running());
  EXPECT_TRUE(servers_[1]->Running());
}

}  // namespace
}  // namespace sundesk::routing
