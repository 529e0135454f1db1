// Router with fakes and a fake clock: the candidates come from the directory (certified for
// the tenant, every page, read again when its revision moves), their live state from
// presence, and the claim decides — an agent that filled up since its load was read is
// passed over for the next best.
#include "services/routing/domain/router.h"

#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "libs/core/clock.h"
#include "tests/services/routing/routing_fakes.h"

namespace sundesk::routing {
namespace {

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

TEST_F(RouterTest, ReadsTheDirectoryAgainOnlyWhenItsRevisionMoves) {
  AddAgent("ana");
  EXPECT_EQ(Routed("t1"), "ana");
  EXPECT_EQ(Routed("t2"), "ana");
  EXPECT_EQ(router_.directory_loads(), 1);
  AddAgent("bruno");  // created (by any replica): the revision moves
  EXPECT_EQ(Routed("t3"), "bruno");
  EXPECT_EQ(router_.directory_loads(), 2);
  // Bruno disabled in place: only the revision tells.
  agents_.agents[1].disabled = true;
  ++agents_.revision;
  EXPECT_EQ(Routed("t4"), "<none>");  // ana is full, bruno gone
  EXPECT_EQ(router_.directory_loads(), 3);
  EXPECT_EQ(Routed("t5"), "<none>");
  EXPECT_EQ(router_.directory_loads(), 3);
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

// What the caller read in the ticket's transaction (PgOfferStore::Route) is what the
// decision goes by, without reading it again: the policy as given (also "never updated"),
// the directory as of the given revision (read again when that one moved).
TEST_F(RouterTest, DecidesByTheRevisionAndPolicyTheCallerRead) {
  AddAgent("ana");
  agents_.agents[0].languages = {{"sv", 2}};  // below the default minimum 3
  const StoredRoutingPolicy relaxed{
      .policy = {.tenant_id = kTenant,
                 .overflow_stages = {{30, OverflowRelax::kAnyProficientLanguage}},
                 .offer_timeout = absl::Seconds(45)},
      .version = 1};
  const TicketToRoute t1 = Ticket("t1");
  clock_.Advance(absl::Seconds(30));
  // The store has no policy; the one read in the transaction relaxes the language.
  DecisionInputs inputs{.directory_revision = 7, .policy = std::optional(relaxed)};
  RoutingPolicy used;
  auto d = router_.Route(t1, {}, &used, &inputs);
  ASSERT_TRUE(d.ok() && d->has_value()) << d.status();
  EXPECT_EQ((*d)->agent_id, "ana");
  EXPECT_EQ((*d)->stage, 1);
  EXPECT_EQ(used.offer_timeout, absl::Seconds(45));
  EXPECT_EQ(policies_.gets, 0);
  EXPECT_EQ(agents_.revision_reads, 0);
  EXPECT_EQ(router_.directory_loads(), 1);
  // "Never updated", as read: the defaults, although the store now has the relaxed one.
  policies_.stored = relaxed;
  inputs.policy.emplace(std::nullopt);
  const TicketToRoute t2{.ticket_id = "t2",
                         .tenant_id = kTenant,
                         .language = "sv",
                         .required_skills = {},
                         .queued_time = t1.queued_time};  // waited as long as t1
  d = router_.Route(t2, {}, &used, &inputs);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_FALSE(d->has_value());
  EXPECT_EQ(policies_.gets, 0);
  EXPECT_EQ(router_.directory_loads(), 1);  // same revision: the directory held
  // A bruno created meanwhile counts once the given revision moves.
  AddAgent("bruno");
  inputs.policy.reset();  // not read by the caller: the decision reads the store's
  EXPECT_EQ(router_.directory_loads(), 1);
  inputs.directory_revision = 8;
  d = router_.Route(Ticket("t3"), {}, &used, &inputs);
  ASSERT_TRUE(d.ok() && d->has_value()) << d.status();
  EXPECT_EQ((*d)->agent_id, "bruno");
  EXPECT_EQ(policies_.gets, 1);
  EXPECT_EQ(agents_.revision_reads, 0);
  EXPECT_EQ(router_.directory_loads(), 2);
}

// With live_state_max_age, what was read is used again for that long; the claim checks
// availability and capacity itself, so a remembered state never overfills an agent nor
// makes an offer to one who is not AVAILABLE.
class RememberingRouterTest : public RouterTest {
 protected:
  RememberingRouterTest()
      : remembering_(agents_, presence_, policies_, tenants_, clock_,
                     {.live_state_max_age = absl::Milliseconds(500)}) {}

  std::string RoutedRemembering(const std::string& ticket_id) {
    auto d = remembering_.Route(Ticket(ticket_id), {});
    if (!d.ok()) return d.status().ToString();
    return d->has_value() ? (*d)->agent_id : "<none>";
  }

  Router remembering_;
};

TEST_F(RememberingRouterTest, ReadsTheLiveStateOncePerMaxAgeAndCountsItsOwnClaims) {
  AddAgent("ana");
  AddAgent("bruno");
  EXPECT_EQ(RoutedRemembering("t1"), "ana");
  EXPECT_EQ(remembering_.live_states_read(), 2);
  // Remembered, with ana's claim counted: bruno is the least loaded now.
  EXPECT_EQ(RoutedRemembering("t2"), "bruno");
  EXPECT_EQ(RoutedRemembering("t3"), "ana");
  EXPECT_EQ(remembering_.live_states_read(), 2);
  clock_.Advance(absl::Milliseconds(500));  // too old now: read again
  EXPECT_EQ(RoutedRemembering("t4"), "bruno");
  EXPECT_EQ(remembering_.live_states_read(), 4);
  EXPECT_EQ(presence_.records["ana"].active_tickets, 2);
  EXPECT_EQ(presence_.records["bruno"].active_tickets, 2);
}

TEST_F(RememberingRouterTest, AnAgentNoLongerAvailableIsNotClaimedButPassedOver) {
  AddAgent("ana");
  AddAgent("bruno");
  EXPECT_EQ(RoutedRemembering("t1"), "ana");
  EXPECT_EQ(RoutedRemembering("t2"), "bruno");
  // Both hold one: ana comes first (equal load and idle time, then by id), but she went AWAY
  // since her state was read.
  ASSERT_TRUE(
      presence_.SetStatus("ana", PresenceStatus::kAway, clock_.Now(), absl::Seconds(30)).ok());
  EXPECT_EQ(RoutedRemembering("t3"), "bruno");
  EXPECT_EQ(presence_.records["ana"].active_tickets, 1);  // no claim on an AWAY agent
  EXPECT_EQ(presence_.records["bruno"].active_tickets, 2);
}

TEST_F(RememberingRouterTest, AnAgentFilledByAnotherReplicaIsPassedOver) {
  AddAgent("ana", 1);
  AddAgent("bruno", 1);
  EXPECT_EQ(RoutedRemembering("t0"), "ana");
  // Another replica fills bruno (capacity 1) after this one read him as empty.
  ASSERT_TRUE(presence_.AddHoldings({{"bruno", "elsewhere"}}).ok());
  EXPECT_EQ(RoutedRemembering("t1"), "<none>");  // ana full by its own claim, bruno by the claim
  EXPECT_EQ(presence_.records["bruno"].active_tickets, 1);
  EXPECT_EQ(presence_.records["ana"].active_tickets, 1);
}

TEST_F(RememberingRouterTest, NobodyIsNeverAnsweredFromRememberedStates) {
  AddAgent("ana", 2, /*available=*/false);
  EXPECT_EQ(RoutedRemembering("t1"), "<none>");  // read: AWAY
  ASSERT_TRUE(
      presence_.SetStatus("ana", PresenceStatus::kAvailable, clock_.Now(), absl::Seconds(30)).ok());
  // Remembered as AWAY, but "nobody" is checked against states read now.
  EXPECT_EQ(RoutedRemembering("t1"), "ana");
  ASSERT_TRUE(*presence_.Release("ana", "t1"));  // room again, unknown to the router
  EXPECT_EQ(RoutedRemembering("t2"), "ana");
}

TEST_F(RouterTest, AnUnknownTenantIsNotFound) {
  TicketToRoute t = Ticket("t1");
  t.tenant_id = "0190a000-0000-7000-8000-0000000000ff";
  EXPECT_EQ(router_.Route(t, {}).status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace sundesk::routing
