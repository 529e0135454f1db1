// Two routing-server processes in OFFER mode (see routing_processes.h): 300 tickets to 30
// agents of capacity 3 whose desktops accept or reject each offer at random, through
// either replica, while agents solve what they get. Every ticket ends assigned exactly
// once in the ticket service, no agent ever holds more than its capacity there or in
// Redis, and no ticket is offered again to an agent who rejected it.
#include <random>

#include "tests/services/routing/routing_processes.h"

namespace sundesk::routing {
namespace {

class OfferReplicasTest : public RoutingProcessesTest {
 protected:
  // The agents' desktops: every open offer is answered once, accepted (2 in 3) or rejected,
  // through a random replica with the agent's own key.
  void StartAnswering() {
    answerer_ = std::thread([this] {
      std::mt19937 random(7);
      std::set<std::string> answered;
      do {
        absl::StatusOr<pg::Result> r = absl::UnavailableError("not read");
        if (auto lease = db_->pool->Acquire(); lease.ok()) {
          r = (*lease)->Execute(
              "SELECT offer_id::text AS offer_id, agent_id FROM routing.offers WHERE state = 1");
        }
        if (!r.ok()) continue;
        for (int row = 0; row < r->rows(); ++row) {
          const std::string offer_id(r->Text(row, "offer_id"));
          const std::string agent(r->Text(row, "agent_id"));
          if (!answered.insert(offer_id).second) continue;
          const size_t via = random() % stubs_.size();
          auto ctx =
              rpc::NewClientContext({.timeout = absl::Seconds(10), .api_key = ProcAgentKey(agent)});
          grpc::Status st;
          if (random() % 3 == 0) {
            v1::RejectOfferRequest req;
            req.set_offer_id(offer_id);
            req.set_reason("busy with another customer");
            v1::RejectOfferResponse resp;
            st = stubs_[via]->RejectOffer(ctx.get(), req, &resp);
            if (st.ok()) ++rejected_;
          } else {
            v1::AcceptOfferRequest req;
            req.set_offer_id(offer_id);
            v1::AcceptOfferResponse resp;
            st = stubs_[via]->AcceptOffer(ctx.get(), req, &resp);
            if (st.ok()) ++accepted_;
          }
          // UNAVAILABLE (the ticket service busy) leaves the offer open: answer it again.
          if (st.error_code() == grpc::StatusCode::UNAVAILABLE) answered.erase(offer_id);
        }
      } while (!stop_answering_.WaitForNotificationWithTimeout(absl::Milliseconds(10)));
    });
  }
  void StopAnswering() {
    if (!answerer_.joinable()) return;
    stop_answering_.Notify();
    answerer_.join();
  }
  void TearDown() override {
    StopAnswering();
    RoutingProcessesTest::TearDown();
  }

  std::thread answerer_;
  absl::Notification stop_answering_;
  std::atomic<int> accepted_{0};
  std::atomic<int> rejected_{0};
};

TEST_F(OfferReplicasTest, AgentsAcceptOrRejectAtRandomAndEachTicketIsAssignedOnce) {
  const std::string tenant = NewTenant("Offered", ticket::RoutingMode::kOffer);
  NewAgents(30, 3, tenant);
  StartRouting(0);
  StartRouting(1);
  WaitForPartitions();
  AllAvailable(/*via=*/1);
  StartSampler(tenant);
  StartWorker(tenant);
  StartAnswering();

  const std::vector<std::string> tickets = NewTickets(tenant, 300);
  ASSERT_EQ(tickets.size(), 300u);
  EXPECT_TRUE(testing::WaitFor([&] { return Assignments(tenant).size() == tickets.size(); },
                               absl::Seconds(45)))
      << "assigned " << Assignments(tenant).size() << " of " << tickets.size() << "\n"
      << Logs();
  StopAnswering();
  EXPECT_TRUE(testing::WaitFor([&] { return solved_ >= static_cast<int>(tickets.size()); },
                               absl::Seconds(10)));
  StopWorker();
  StopSampler();

  ExpectEachAssignedOnce(tenant, tickets);
  EXPECT_GT(accepted_.load(), 0);
  EXPECT_GT(rejected_.load(), 0) << "no offer was rejected: the test proves less than it says";
  EXPECT_GT(samples_, 0);
  EXPECT_LE(max_assigned_, 3) << "an agent held more than its capacity in the ticket service";
  EXPECT_LE(max_redis_load_, 3) << "an agent's load in Redis went above its capacity";
  {
    absl::MutexLock lock(&mu_);
    EXPECT_TRUE(over_capacity_.empty()) << *over_capacity_.begin();
  }
  // No agent was offered a ticket again after rejecting it.
  EXPECT_EQ(Count("SELECT count(*) FROM routing.offers r JOIN routing.offers o "
                  "ON o.ticket_id = r.ticket_id AND o.agent_id = r.agent_id "
                  "AND o.create_time > r.create_time WHERE r.state = 3"),
            0);
  // Every ticket's accepted offer went to the agent the ticket service assigned it to.
  EXPECT_EQ(Count("SELECT count(*) FROM routing.offers o JOIN ticket.tickets t "
                  "ON t.ticket_id = o.ticket_id WHERE o.state = 2 "
                  "AND t.assignee_id IS DISTINCT FROM o.agent_id"),
            0);
  EXPECT_TRUE(servers_[0]->Running());
  EXPECT_TRUE(servers_[1]->Running());
}

}  // namespace
}  // namespace sundesk::routing
