// OfferService's decisions with fakes (no PostgreSQL, Redis or ticket service): what an
// accept, an auto-assignment and a stale claim do when the ticket service already has the
// ticket with someone else; how loads that Redis lost are rebuilt from routing's records
// before any claim; and which claims an answered offer keeps.
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "libs/core/clock.h"
#include "libs/core/ids.h"
#include "services/routing/domain/offers.h"
#include "tests/services/routing/routing_fakes.h"

namespace sundesk::routing {
namespace {

// Routing's records in memory: queued tickets, offers, and assignments routing stored.
class FakeOfferStore final : public OfferStore {
 public:
  std::map<std::string, QueueEntry> waiting;         // ticket -> entry
  std::map<std::string, std::string> assigned;       // ticket -> agent (stored by routing)
  std::map<std::string, Offer> offers;               // offer id -> offer
  std::vector<std::vector<Holding>> holdings_reads;  // answers of Holdings(), in turn

  absl::StatusOr<std::vector<QueueEntry>> Routable(const std::optional<QueuePosition>& after,
                                                   int limit) override {
    std::vector<QueueEntry> out;
    if (after.has_value()) return out;  // one page is enough here
    for (const auto& [id, e] : waiting) {
      if (!HasOpenOffer(id)) out.push_back(e);
    }
    return out;
  }
  absl::StatusOr<bool> Route(absl::string_view ticket_id, Decide decide) override {
    auto it = waiting.find(std::string(ticket_id));
    if (it == waiting.end() || HasOpenOffer(it->first)) return false;
    std::set<std::string> excluded;
    for (const auto& [id, o] : offers) {
      if (o.ticket_id == ticket_id &&
          (o.state == OfferState::kRejected || o.state == OfferState::kExpired)) {
        excluded.insert(o.agent_id);
      }
    }
    absl::StatusOr<RouteOutcome> outcome = decide(it->second, excluded, DecisionInputs{});
    if (!outcome.ok()) return outcome.status();
    if (outcome->offer.has_value()) offers[outcome->offer->offer_id] = *outcome->offer;
    if (!outcome->assigned_agent.empty()) {
      assigned[it->first] = outcome->assigned_agent;
      waiting.erase(it);
    }
    return true;
  }
  absl::StatusOr<Offer> Get(absl::string_view offer_id) override {
    auto it = offers.find(std::string(offer_id));
    if (it == offers.end()) return absl::NotFoundError("no such offer");
    return it->second;
  }
  absl::StatusOr<std::optional<Offer>> Update(absl::string_view offer_id, absl::Time at,
                                              bool skip_locked, Answer answer) override {
    auto it = offers.find(std::string(offer_id));
    if (it == offers.end()) return absl::NotFoundError("no such offer");
    absl::StatusOr<OfferAnswer> a = answer(it->second);
    if (!a.ok()) return a.status();
    it->second.state = a->state;
    it->second.withdraw_reason = a->withdraw_reason;
    if (a->state == OfferState::kAccepted) {
      assigned[it->second.ticket_id] = it->second.agent_id;
      waiting.erase(it->second.ticket_id);
    }
    return std::optional<Offer>(it->second);
  }
  absl::StatusOr<std::vector<DueOffer>> Due(absl::Time now, int limit) override {
    std::vector<DueOffer> due;
    for (const auto& [id, o] : offers) {
      if (o.state != OfferState::kOpen) continue;
      const bool waits = waiting.count(o.ticket_id) > 0;
      if (o.expire_time > now && waits) continue;
      auto a = assigned.find(o.ticket_id);
      due.push_back({.offer = o,
                     .ticket_waits = waits,
                     .ticket_assignee = a == assigned.end() ? "" : a->second});
    }
    return due;
  }
  absl::StatusOr<std::vector<Offer>> OpenOffers(int limit) override {
    std::vector<Offer> open;
    for (const auto& [id, o] : offers) {
      if (o.state == OfferState::kOpen) open.push_back(o);
    }
    return open;
  }
  absl::StatusOr<std::vector<Offer>> AgentOffers(absl::string_view agent_id,
                                                 const std::vector<std::string>&) override {
    std::vector<Offer> out;
    for (const auto& [id, o] : offers) {
      if (o.agent_id == agent_id && o.state == OfferState::kOpen) out.push_back(o);
    }
    return out;
  }
  absl::StatusOr<std::vector<Holding>> Holdings() override {
    if (!holdings_reads.empty()) {
      std::vector<Holding> next = holdings_reads.front();
      holdings_reads.erase(holdings_reads.begin());
      return next;
    }
    std::vector<Holding> out;
    for (const auto& [id, o] : offers) {
      if (o.state == OfferState::kOpen) out.push_back({o.agent_id, o.ticket_id});
    }
    for (const auto& [ticket, agent] : assigned) out.push_back({agent, ticket});
    return out;
  }

  bool HasOpenOffer(const std::string& ticket_id) const {
    for (const auto& [id, o] : offers) {
      if (o.ticket_id == ticket_id && o.state == OfferState::kOpen) return true;
    }
    return false;
  }
};

// The ticket service's assignments.
class FakeAssigner final : public TicketAssigner {
 public:
  std::map<std::string, std::string> assignee;  // ticket -> agent
  std::set<std::string> solved;
  int64_t version = 10;
  int assigns = 0;  // assignments actually made

  absl::StatusOr<TicketAssignment> Assign(absl::string_view ticket_id, absl::string_view agent_id,
                                          absl::string_view, int) override {
    if (solved.count(std::string(ticket_id)) > 0) return absl::FailedPreconditionError("solved");
    std::string& current = assignee[std::string(ticket_id)];
    if (current.empty()) {
      current = std::string(agent_id);
      ++version;
      ++assigns;
    }
    return TicketAssignment{.assignee_id = current, .version = version};
  }
  absl::StatusOr<TicketAssignment> Current(absl::string_view ticket_id) override {
    if (solved.count(std::string(ticket_id)) > 0) return absl::FailedPreconditionError("solved");
    return TicketAssignment{.assignee_id = assignee[std::string(ticket_id)], .version = version};
  }
};

class OfferServiceTest : public ::testing::Test {
 protected:
  OfferServiceTest()
      : router_(agents_, presence_, policies_, tenants_, clock_),
        service_(store_, agents_, router_, presence_, policies_, tenants_, assigner_, clock_,
                 ids_) {}

  void AddAgent(const std::string& id, int capacity = 3) {
    Agent a;
    a.agent_id = id;
    a.display_name = id;
    a.languages = {{"sv", 5}};
    a.certifications = {{kTenant, std::nullopt}};
    a.capacity = capacity;
    a.time_zone = "UTC";
    a.tier = 1;
    agents_.agents.push_back(a);
    ASSERT_TRUE(
        presence_.SetStatus(id, PresenceStatus::kAvailable, clock_.Now(), absl::Seconds(30)).ok());
  }

  void Queue(const std::string& ticket_id) {
    QueueEntry e;
    e.ticket.ticket_id = ticket_id;
    e.ticket.tenant_id = kTenant;
    e.ticket.subject = "Printer on fire";
    e.ticket.language = "sv";
    e.ticket.status = 1;
    e.ticket.version = 1;
    e.queued_time = clock_.Now();
    store_.waiting[ticket_id] = e;
  }

  // The ticket's open offer; empty when none.
  Offer OpenOffer(const std::string& ticket_id) {
    for (const auto& [id, o] : store_.offers) {
      if (o.ticket_id == ticket_id && o.state == OfferState::kOpen) return o;
    }
    return Offer{};
  }

  int Load(const std::string& agent) { return presence_.Get(agent)->active_tickets; }

  FakeClock clock_;
  UuidV7Generator ids_{clock_};
  FakeAgentStore agents_;
  FakePresence presence_;
  FakePolicies policies_;
  FakeTenants tenants_;
  FakeOfferStore store_;
  FakeAssigner assigner_;
  Router router_;
  OfferService service_;
};

TEST_F(OfferServiceTest, AnAcceptDoesNotTakeOverATicketAssignedByHandMeanwhile) {
  AddAgent("ana");
  Queue("t1");
  ASSERT_EQ(*service_.Dispatch(), 1);
  const Offer offer = OpenOffer("t1");
  ASSERT_EQ(offer.agent_id, "ana");
  EXPECT_EQ(Load("ana"), 1);

  // An admin gives the ticket to Bruno; routing has not seen the event yet.
  assigner_.assignee["t1"] = "bruno";
  absl::StatusOr<Offer> accepted = service_.Accept("ana", offer.offer_id);
  EXPECT_TRUE(absl::IsFailedPrecondition(accepted.status())) << accepted.status();
  EXPECT_NE(accepted.status().message().find("assigned to another agent"), std::string::npos);
  EXPECT_EQ(assigner_.assignee["t1"], "bruno");
  EXPECT_EQ(assigner_.assigns, 0);
  EXPECT_EQ(store_.offers[offer.offer_id].state, OfferState::kWithdrawn);
  EXPECT_EQ(store_.offers[offer.offer_id].withdraw_reason, WithdrawReason::kTicketChanged);
  // Ana's claim went back; the ticket counts in Bruno's load.
  EXPECT_EQ(Load("ana"), 0);
  EXPECT_EQ(Load("bruno"), 1);
  EXPECT_EQ(*presence_.Holder("t1"), "bruno");
}

TEST_F(OfferServiceTest, AcceptingAnOfferTheAgentAlreadyHasAssignedSucceeds) {
  AddAgent("ana");
  Queue("t1");
  ASSERT_EQ(*service_.Dispatch(), 1);
  const Offer offer = OpenOffer("t1");
  assigner_.assignee["t1"] = "ana";  // a retried accept whose first answer was lost
  absl::StatusOr<Offer> accepted = service_.Accept("ana", offer.offer_id);
  ASSERT_TRUE(accepted.ok()) << accepted.status();
  EXPECT_EQ(accepted->state, OfferState::kAccepted);
  EXPECT_EQ(Load("ana"), 1);
}

TEST_F(OfferServiceTest, AutoAssignLeavesATicketAssignedElsewhereWithItsAssignee) {
  tenants_.auto_assign = true;
  AddAgent("ana");
  Queue("t1");
  Queue("t2");
  assigner_.assignee["t1"] = "bruno";  // assigned by hand; routing has not heard yet
  EXPECT_EQ(*service_.Dispatch(), 1);  // only t2 is routing's assignment
  EXPECT_EQ(assigner_.assignee["t1"], "bruno");
  EXPECT_EQ(assigner_.assignee["t2"], "ana");
  // Both left the queue with their true assignee; loads follow.
  EXPECT_EQ(store_.assigned["t1"], "bruno");
  EXPECT_EQ(store_.assigned["t2"], "ana");
  EXPECT_TRUE(store_.waiting.empty());
  EXPECT_EQ(Load("ana"), 1);
  EXPECT_EQ(Load("bruno"), 1);
  EXPECT_EQ(*presence_.Holder("t1"), "bruno");
}

TEST_F(OfferServiceTest, AStaleClaimOnATicketAssignedElsewhereIsNotRoutedAgain) {
  tenants_.auto_assign = true;
  AddAgent("ana");
  Queue("t1");
  // A replica died after AssignTicket gave t1 to Carl and before it stored that: Carl's
  // claim is in Redis, routing's copy still waits.
  ASSERT_EQ(*presence_.Claim("carl", "t1", 3, clock_.Now()), ClaimOutcome::kClaimed);
  assigner_.assignee["t1"] = "carl";
  EXPECT_EQ(*service_.Dispatch(), 0);
  EXPECT_EQ(assigner_.assignee["t1"], "carl");
  EXPECT_EQ(store_.assigned["t1"], "carl");
  EXPECT_EQ(Load("carl"), 1);
  EXPECT_EQ(Load("ana"), 0);
}

TEST_F(OfferServiceTest, AStaleClaimOnAnUnassignedTicketIsReleasedAndTheTicketRouted) {
  AddAgent("ana");
  Queue("t1");
  // A replica died between the claim and storing the offer: nobody has the ticket.
  ASSERT_EQ(*presence_.Claim("carl", "t1", 3, clock_.Now()), ClaimOutcome::kClaimed);
  EXPECT_EQ(*service_.Dispatch(), 1);
  EXPECT_EQ(OpenOffer("t1").agent_id, "ana");
  EXPECT_EQ(Load("carl"), 0);
  EXPECT_EQ(Load("ana"), 1);
}

TEST_F(OfferServiceTest, LoadsRedisLostAreRebuiltFromRoutingsRecordsBeforeAnyClaim) {
  AddAgent("ana", /*capacity=*/2);
  AddAgent("bruno", /*capacity=*/2);
  // Routing's records: Ana has t1 assigned and an open offer of t2; Bruno has t3.
  store_.assigned["t1"] = "ana";
  store_.assigned["t3"] = "bruno";
  Queue("t2");
  ASSERT_EQ(*service_.Dispatch(), 1);
  const std::string t2_agent = OpenOffer("t2").agent_id;
  ASSERT_FALSE(t2_agent.empty());

  // Redis loses everything; another replica is rebuilding: no claim is made meanwhile.
  presence_ = FakePresence();
  presence_.loads_ready = false;
  presence_.rebuild_locked = true;
  for (const char* a : {"ana", "bruno"}) {
    ASSERT_TRUE(
        presence_.SetStatus(a, PresenceStatus::kAvailable, clock_.Now(), absl::Seconds(30)).ok());
  }
  Queue("t4");
  EXPECT_EQ(*service_.Dispatch(), 0);
  EXPECT_TRUE(OpenOffer("t4").agent_id.empty());

  // This replica rebuilds. Between its two reads t3 was solved (gone from the second), and
  // a hand assignment of t5 to Bruno arrived (only in the second).
  presence_.rebuild_locked = false;
  store_.holdings_reads = {
      {{t2_agent, "t2"}, {"ana", "t1"}, {"bruno", "t3"}},
      {{t2_agent, "t2"}, {"ana", "t1"}, {"bruno", "t5"}},
  };
  EXPECT_EQ(*service_.Dispatch(), 1);  // t4 routed once the loads are known
  EXPECT_TRUE(presence_.loads_ready);
  EXPECT_EQ(presence_.held["ana"].count("t1"), 1u);
  EXPECT_EQ(presence_.held[t2_agent].count("t2"), 1u);
  EXPECT_EQ(presence_.held["bruno"].count("t3"), 0u);
  EXPECT_EQ(presence_.held["bruno"].count("t5"), 1u);
  // Nobody above capacity 2 with t4 claimed too.
  EXPECT_LE(Load("ana"), 2);
  EXPECT_LE(Load("bruno"), 2);
  EXPECT_EQ(Load("ana") + Load("bruno"), 4);  // t1, t2, t5 and t4
}

TEST_F(OfferServiceTest, AnOfferWhoseTicketWentToTheSameAgentKeepsItsClaim) {
  AddAgent("ana");
  Queue("t1");
  Queue("t2");
  ASSERT_EQ(*service_.Dispatch(), 2);
  EXPECT_EQ(Load("ana"), 2);
  // t1 was given to Ana by hand, t2 to Bruno, both while their offers were open.
  for (const auto& [ticket, agent] : {std::pair<std::string, std::string>{"t1", "ana"},
                                      std::pair<std::string, std::string>{"t2", "bruno"}}) {
    store_.waiting.erase(ticket);
    store_.assigned[ticket] = agent;
  }
  ASSERT_TRUE(presence_.AddHoldings({{"bruno", "t2"}}).ok());  // as the queue event does
  ASSERT_EQ(*service_.Dispatch(), 0);
  EXPECT_TRUE(OpenOffer("t1").agent_id.empty());
  EXPECT_TRUE(OpenOffer("t2").agent_id.empty());
  EXPECT_EQ(Load("ana"), 1);  // t1 stays, t2's claim went back
  EXPECT_EQ(presence_.held["ana"].count("t1"), 1u);
  EXPECT_EQ(Load("bruno"), 1);
}

}  // namespace
}  // namespace sundesk::routing
