// Recovery of a routing-server process (see routing_processes.h), AUTO_ASSIGN mode:
// SIGKILLed with 200 tickets queued and again while it routes them, it loses none and
// assigns none twice. And its graceful stop: SIGTERM ends open agent sessions at once.
#include <csignal>

#include "gmock/gmock.h"
#include "tests/services/routing/routing_processes.h"

namespace sundesk::routing {
namespace {

TEST_F(RoutingProcessesTest, SigkilledWithTheQueueFullItLosesNoneAndAssignsNoneTwice) {
  const std::string tenant = NewTenant("Crashy");
  NewAgents(30, 3, tenant);  // nobody available yet: every ticket waits
  StartRouting(0);
  const std::vector<std::string> tickets = NewTickets(tenant, 200);
  ASSERT_EQ(tickets.size(), 200u);
  const std::string queued = absl::StrCat(
      "SELECT count(*) FROM routing.tickets WHERE queued_time IS NOT NULL AND tenant_id = '",
      tenant, "'");
  ASSERT_TRUE(testing::WaitFor([&] { return Count(queued) == 200; }, absl::Seconds(30)))
      << "queued: " << Count(queued) << "\n"
      << Logs();

  servers_[0]->Signal(SIGKILL);
  ASSERT_EQ(*servers_[0]->Wait(absl::Seconds(10)), 128 + SIGKILL);
  StartRouting(0);
  EXPECT_EQ(Count(queued), 200) << "the queue lost tickets over the crash";

  // Agents come; routing starts assigning, and is killed again in the middle of it.
  StartSampler(tenant);
  AllAvailable();
  ASSERT_TRUE(testing::WaitFor([&] { return Assignments(tenant).size() >= 40; }, absl::Seconds(30)))
      << Logs();
  StartWorker(tenant);
  servers_[0]->Signal(SIGKILL);
  ASSERT_EQ(*servers_[0]->Wait(absl::Seconds(10)), 128 + SIGKILL);
  // Whole: every ticket is queued in routing or assigned in the ticket service.
  {
    const int64_t waiting = Count(queued);
    const size_t assigned = Assignments(tenant).size();
    EXPECT_GE(waiting + static_cast<int64_t>(assigned), 200)
        << waiting << " queued, " << assigned << " assigned";
  }
  StartRouting(0);
  EXPECT_TRUE(testing::WaitFor([&] { return Assignments(tenant).size() == tickets.size(); },
                               absl::Seconds(40)))
      << "assigned " << Assignments(tenant).size() << " of " << tickets.size() << "\n"
      << Logs();
  StopWorker();
  StopSampler();
  ExpectEachAssignedOnce(tenant, tickets);
  EXPECT_LE(max_assigned_, 3) << "an agent held more than its capacity in the ticket service";
}

TEST_F(RoutingProcessesTest, SigtermEndsOpenAgentSessionsSoDesktopsReconnectElsewhere) {
  const std::string tenant = NewTenant("Draining");
  NewAgents(1, 3, tenant);
  // A drain long enough that a session still open would hold the stop for two minutes.
  StartRouting(0, "120s");
  auto channel = rpc::MakeChannel({.target = absl::StrCat("127.0.0.1:", ports_[0].first)});
  ASSERT_TRUE(channel.ok());
  auto stub = v1::RoutingService::NewStub(*channel);
  auto ctx =
      rpc::NewClientContext({.timeout = absl::Seconds(300), .api_key = ProcAgentKey(AgentName(0))});
  auto stream = stub->AgentSession(ctx.get());
  v1::AgentMessage available;
  available.mutable_presence()->set_status(v1::PRESENCE_STATUS_AVAILABLE);
  ASSERT_TRUE(stream->Write(available));
  v1::RoutingMessage reply;
  ASSERT_TRUE(stream->Read(&reply)) << "the session answers once it is open\n" << Logs();

  servers_[0]->Signal(SIGTERM);
  while (stream->Read(&reply)) {
  }
  const grpc::Status st = stream->Finish();
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAVAILABLE) << st.error_message();
  EXPECT_THAT(st.error_message(), ::testing::HasSubstr("server shutdown"))
      << "ended by the server's before-drain hook, not cancelled when the drain ran out";
  absl::StatusOr<int> code = servers_[0]->Wait(absl::Seconds(180));
  ASSERT_TRUE(code.ok()) << code.status();
  EXPECT_EQ(*code, 0) << Logs();
}

}  // namespace
}  // namespace sundesk::routing
