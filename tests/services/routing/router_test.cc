// Router with fakes and a fake clock: the candidates come from the directory (certified for
// the tenant, every page), their live state from presence, and the claim decides — an agent
// that filled up since its load was read is passed over for the next best.
#include "services/routing/domain/router.h"

#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "libs/core/clock.h"

namespace sundesk::routing {
namespace {

constexpr char kTenant[] = "0190a000-0000-7000-8000-0000000000aa";

class FakeAgentStore final : public AgentStore {
 public:
  std::vector<Agent> agents;  // in display_name order
  int pages_read = 0;

  absl::StatusOr<CreatedAgent> CreateAgent(const Agent&, absl::string_view,
                                           absl::string_view) override {
    return absl::UnimplementedError("not used");
  }
  absl::StatusOr<Agent> GetAgent(absl::string_view) override {
    return absl::UnimplementedError("not used");
  }
  absl::StatusOr<std::vector<Agent>> ListAgents(const AgentFilter& filter, absl::Time now,
                                                const std::optional<AgentPosition>& after,
                                                int limit) override {
    ++pages_read;
    std::vector<Agent> page;
    bool past = !after.has_value();
    for (const Agent& a : agents) {
      if (!past) {
        past = a.agent_id == after->agent_id;
        continue;
      }
      bool certified = false;
      for (const auto& c : a.certifications) {
        certified |= c.tenant_id == filter.tenant_id && c.ValidAt(now);
      }
      if (!certified || a.disabled) continue;
      page.push_back(a);
      if (static_cast<int>(page.size()) == limit) break;
    }
    return page;
  }
  absl::StatusOr<Agent> UpdateAgent(const Agent&, absl::Time) override {
    return absl::UnimplementedError("not used");
  }
};

class FakePresence final : public PresenceStore {
 public:
  std::map<std::string, PresenceRecord> records;
  std::map<std::string, std::string> holder;  // ticket -> agent
  std::set<std::string> full_on_claim;        // agents another replica fills first

  absl::StatusOr<PresenceStatus> SetStatus(absl::string_view agent_id, PresenceStatus status,
                                           absl::Time now, absl::Duration) override {
    auto& r = records[std::string(agent_id)];
    PresenceStatus before = r.status;
    r.status = status;
    r.update_time = now;
    return before;
  }
  absl::StatusOr<bool> Refresh(absl::string_view, absl::Duration) override { return true; }
  absl::StatusOr<PresenceRecord> Get(absl::string_view agent_id) override {
    auto it = records.find(std::string(agent_id));
    return it == records.end() ? PresenceRecord{} : it->second;
  }
  absl::StatusOr<ClaimOutcome> Claim(absl::string_view agent_id, absl::string_view ticket_id,
                                     int capacity, absl::Time now) override {
    const std::string agent(agent_id);
    auto held = holder.find(std::string(ticket_id));
    if (held != holder.end()) {
      return held->second == agent ? ClaimOutcome::kAlreadyHeld : ClaimOutcome::kHeldByOther;
    }
    auto& r = records[agent];
    if (full_on_claim.count(agent) > 0) r.active_tickets = capacity;
    if (r.active_tickets >= capacity) return ClaimOutcome::kAtCapacity;
    ++r.active_tickets;
    r.last_assignment_time = now;
    holder[std::string(ticket_id)] = agent;
    return ClaimOutcome::kClaimed;
  }
  absl::StatusOr<bool> Release(absl::string_view agent_id, absl::string_view ticket_id) override {
    if (holder.erase(std::string(ticket_id)) == 0) return false;
    --records[std::string(agent_id)].active_tickets;
    return true;
  }
  absl::StatusOr<std::string> Holder(absl::string_view ticket_id) override {
    auto it = holder.find(std::string(ticket_id));
    return it == holder.end() ? std::string() : it->second;
  }
};

class FakePolicies final : public RoutingPolicyStore {
 public:
  std::optional<StoredRoutingPolicy> stored;
  absl::StatusOr<std::optional<StoredRoutingPolicy>> Get(absl::string_view) override {
    return stored;
  }
  absl::Status Put(const StoredRoutingPolicy&, int64_t) override { return absl::OkStatus(); }
};

class FakeTenants final : public TenantDirectory {
 public:
  absl::StatusOr<TenantInfo> GetTenant(absl::string_view tenant_id) override {
    if (tenant_id != kTenant) return absl::NotFoundError("no such tenant");
    return TenantInfo{.tenant_id = kTenant, .languages = {"sv", "en"}};
  }
};

class RouterTest : public ::testing::Test {
 protected:
  RouterTest() : router_(agents_, presence_, policies_, tenants_, clock_) {}

  void AddAgent(const std::string& id, int capacity = 2, bool available = true,
                std::optional<absl::Time> expires = std::nullopt) {
    Agent a;
    a.agent_id = id;
    a.display_name = id;
    a.languages = {{"sv", 5}};
    a.certifications = {{kTenant, expires}};
    a.capacity = capacity;
    a.time_zone = "UTC";
    a.tier = 1;
    agents_.agents.push_back(a);
    if (available) {
      ASSERT_TRUE(
          presence_.SetStatus(id, PresenceStatus::kAvailable, clock_.Now(), absl::Seconds(30))
              .ok());
    }
  }

  TicketToRoute Ticket(const std::string& id) {
    return {.ticket_id = id,
            .tenant_id = kTenant,
            .language = "sv",
            .required_skills = {},
            .queued_time = clock_.Now()};
  }

  std::string Routed(const std::string& ticket_id, const std::set<std::string>& excluded = {}) {
    auto d = router_.Route(Ticket(ticket_id), excluded);
    if (!d.ok()) return d.status().ToString();
    return d->has_value() ? (*d)->agent_id : "<none>";
  }

  FakeClock clock_;
  FakeAgentStore agents_;
  FakePresence presence_;
  FakePolicies policies_;
  FakeTenants tenants_;
  Router router_;
};

TEST_F(RouterTest, ClaimsCapacityAndSpreadsTheLoad) {
  AddAgent("ana");
  AddAgent("bruno");
  EXPECT_EQ(Routed("t1"), "ana");    // equal: by id
  EXPECT_EQ(Routed("t2"), "bruno");  // ana holds one now: the least loaded
  EXPECT_EQ(Routed("t3"), "ana");    // equal load again; ana's last claim is not later
  EXPECT_EQ(Routed("t4"), "bruno");
  EXPECT_EQ(Routed("t5"), "<none>");  // everyone at capacity 2
  EXPECT_EQ(presence_.records["ana"].active_tickets, 2);
  EXPECT_EQ(presence_.records["bruno"].active_tickets, 2);
  ASSERT_TRUE(*presence_.Release("ana", "t1"));  // solved: room again
  EXPECT_EQ(Routed("t5"), "ana");
}

TEST_F(RouterTest, ARepeatedDecisionForTheSameTicketIsANoOp) {
  AddAgent("ana");
  EXPECT_EQ(Routed("t1"), "ana");
  EXPECT_EQ(Routed("t1"), "ana");  // already hers: the claim changes nothing
  EXPECT_EQ(presence_.records["ana"].active_tickets, 1);
  // Bruno is now the better pick, but the ticket is held: no second holder.
  AddAgent("bruno");
  auto again = router_.Route(Ticket("t1"), {});
  EXPECT_EQ(again.status().code(), absl::StatusCode::kAborted);
  EXPECT_EQ(presence_.records["bruno"].active_tickets, 0);
}

TEST_F(RouterTest, AnAgentFilledByAnotherReplicaIsPassedOver) {
  AddAgent("ana");
  AddAgent("bruno");
  presence_.full_on_claim.insert("ana");  // looked free, is full at the claim
  EXPECT_EQ(Routed("t1"), "bruno");
}

TEST_F(RouterTest, ExcludedUnavailableAndLapsedAgentsAreSkipped) {
  AddAgent("ana");
  AddAgent("away", 2, /*available=*/false);
  AddAgent("lapsed", 2, true, clock_.Now() - absl::Minutes(1));
  EXPECT_EQ(Routed("t1", {"ana"}), "<none>");
  EXPECT_EQ(Routed("t1"), "ana");
  EXPECT_EQ(Routed("t2", {}), "ana");
}

TEST_F(RouterTest, ReadsEveryPageOfCertifiedAgents) {
  for (int i = 0; i < 1200; ++i) AddAgent(absl::StrCat("agent-", 10000 + i), 2, false);
  AddAgent("zz-the-only-available");
  EXPECT_EQ(Routed("t1"), "zz-the-only-available");
  EXPECT_EQ(agents_.pages_read, 3);
}

TEST_F(RouterTest, TheTenantsPolicyDecidesTheStage) {
  AddAgent("ana");
  agents_.agents[0].languages = {{"sv", 2}};  // below the default minimum 3
  EXPECT_EQ(Routed("t1"), "<none>");
  policies_.stored = StoredRoutingPolicy{
      .policy = {.tenant_id = kTenant,
                 .overflow_stages = {{30, OverflowRelax::kAnyProficientLanguage}}},
      .version = 1};
  TicketToRoute t = Ticket("t1");
  clock_.Advance(absl::Seconds(30));
  auto d = router_.Route(t, {});
  ASSERT_TRUE(d.ok() && d->has_value());
  EXPECT_EQ((*d)->agent_id, "ana");
  EXPECT_EQ((*d)->stage, 1);
}

TEST_F(RouterTest, AnUnknownTenantIsNotFound) {
  TicketToRoute t = Ticket("t1");
  t.tenant_id = "0190a000-0000-7000-8000-0000000000ff";
  EXPECT_EQ(router_.Route(t, {}).status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace sundesk::routing
