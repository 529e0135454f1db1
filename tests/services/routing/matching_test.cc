// The matching rules with a fake clock and hand-made live state: hard constraints, shift
// boundaries in other zones (midnight, DST), overflow stages and the ranking. Every
// decision is also asked of a CandidateIndex over the same agents, which must agree, and a
// generated population compares the two over many tickets, times and policies.
#include "services/routing/domain/matching.h"

#include <deque>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "gtest/gtest.h"
#include "libs/core/clock.h"
#include "services/routing/domain/candidate_index.h"

namespace sundesk::routing {
namespace {

constexpr char kTenant[] = "0190a000-0000-7000-8000-0000000000aa";
constexpr char kOtherTenant[] = "0190a000-0000-7000-8000-0000000000bb";

absl::Time Utc(int y, int m, int d, int hh, int mm, int ss = 0) {
  return absl::FromCivil(absl::CivilSecond(y, m, d, hh, mm, ss), absl::UTCTimeZone());
}

class MatchingTest : public ::testing::Test {
 protected:
  // Monday 2026-03-23 10:00 UTC.
  MatchingTest() : clock_(Utc(2026, 3, 23, 10, 0)) {}

  static Agent BaseAgent(const std::string& id) {
    Agent a;
    a.agent_id = id;
    a.display_name = id;
    a.languages = {{"pt-BR", 5}};
    a.skills = {{"printers", 3}};
    a.certifications = {{kTenant, std::nullopt}};
    a.capacity = 3;
    a.time_zone = "UTC";
    a.tier = 1;
    return a;
  }

  // Adds an agent (AVAILABLE, idle, never assigned) and returns its candidate to tweak.
  Candidate& Add(const Agent& agent) {
    profiles_.emplace_back(agent);
    candidates_.push_back({&profiles_.back(), {.status = PresenceStatus::kAvailable}});
    return candidates_.back();
  }

  TicketToRoute Ticket(std::vector<std::string> skills = {"printers"}) {
    return {.ticket_id = "t1",
            .tenant_id = kTenant,
            .language = "pt-BR",
            .required_skills = std::move(skills),
            .queued_time = clock_.Now()};
  }

  std::optional<MatchDecision> Choose(const TicketToRoute& ticket,
                                      const std::set<std::string>& excluded = {}) {
    std::optional<MatchDecision> d =
        ChooseAgent(ticket, policy_, tenant_languages_, candidates_, excluded, clock_.Now());
    const CandidateIndex index(candidates_);
    std::optional<MatchDecision> indexed =
        index.Choose(ticket, policy_, tenant_languages_, excluded, clock_.Now());
    EXPECT_EQ(indexed.has_value(), d.has_value());
    if (indexed.has_value() && d.has_value()) {
      EXPECT_EQ(indexed->agent_id, d->agent_id);
      EXPECT_EQ(indexed->stage, d->stage);
    }
    return d;
  }

  std::string Chosen(const TicketToRoute& ticket, const std::set<std::string>& excluded = {}) {
    auto d = Choose(ticket, excluded);
    return d ? d->agent_id : "<none>";
  }

  FakeClock clock_;
  RoutingPolicy policy_ = MakePolicy();

  static RoutingPolicy MakePolicy() {
    RoutingPolicy p;
    p.tenant_id = kTenant;
    return p;
  }
  std::vector<std::string> tenant_languages_ = {"pt-BR"};
  std::deque<AgentProfile> profiles_;  // stable addresses
  std::vector<Candidate> candidates_;
};

TEST_F(MatchingTest, AMatchingAgentIsChosenAtStageZero) {
  Add(BaseAgent("ana"));
  auto d = Choose(Ticket());
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->agent_id, "ana");
  EXPECT_EQ(d->stage, 0);
}

TEST_F(MatchingTest, ExpiredCertificationExcludesEvenAtTheLastOverflowStage) {
  Agent a = BaseAgent("ana");
  a.certifications = {{kTenant, clock_.Now()}};  // lapses exactly now
  Add(a);
  Agent b = BaseAgent("bruno");
  b.certifications = {{kOtherTenant, std::nullopt}};  // another client's
  Add(b);
  policy_.overflow_stages = {{10, OverflowRelax::kAnyProficientLanguage},
                             {20, OverflowRelax::kSkillsOptional},
                             {30, OverflowRelax::kNextTier}};
  TicketToRoute t = Ticket();
  EXPECT_EQ(Chosen(t), "<none>");
  clock_.Advance(absl::Hours(1));
  EXPECT_EQ(Chosen(t), "<none>");

  Agent c = BaseAgent("carla");
  c.certifications = {{kTenant, clock_.Now() + absl::Seconds(1)}};  // still valid
  Add(c);
  EXPECT_EQ(Chosen(t), "carla");
}

TEST_F(MatchingTest, LanguageAtTheTenantsMinimumProficiency) {
  Agent a = BaseAgent("ana");
  a.languages = {{"pt-BR", 2}};
  Add(a);
  Agent b = BaseAgent("bruno");
  b.languages = {{"es", 5}};
  Add(b);
  EXPECT_EQ(Chosen(Ticket()), "<none>");  // default minimum 3
  policy_.min_language_proficiency = 2;
  EXPECT_EQ(Chosen(Ticket()), "ana");
  // Tags compare case-insensitively.
  TicketToRoute t = Ticket();
  t.language = "PT-br";
  EXPECT_EQ(Chosen(t), "ana");
}

TEST_F(MatchingTest, RequiredSkillsMustAllBeHeld) {
  Agent a = BaseAgent("ana");
  a.skills = {{"printers", 5}};
  Add(a);
  Agent b = BaseAgent("bruno");
  b.skills = {{"printers", 1}, {"sap-fi", 1}};
  Add(b);
  EXPECT_EQ(Chosen(Ticket({"printers", "sap-fi"})), "bruno");
  EXPECT_EQ(Chosen(Ticket({"sap-co"})), "<none>");
  EXPECT_EQ(Chosen(Ticket({})), "ana");  // no skills asked: equal fit, equal load, by id
}

TEST_F(MatchingTest, PresenceCapacityAndDisabledAreHardConstraints) {
  Add(BaseAgent("away")).state.status = PresenceStatus::kAway;
  Add(BaseAgent("busy")).state.status = PresenceStatus::kBusy;
  Add(BaseAgent("offline")).state.status = PresenceStatus::kOffline;
  Add(BaseAgent("full")).state.active_tickets = 3;
  Agent disabled = BaseAgent("disabled");
  disabled.disabled = true;
  Add(disabled);
  EXPECT_EQ(Chosen(Ticket()), "<none>");
  Add(BaseAgent("free")).state.active_tickets = 2;
  EXPECT_EQ(Chosen(Ticket()), "free");
}

TEST_F(MatchingTest, ShiftCrossingMidnightInTheAgentsZone) {
  Agent a = BaseAgent("tokyo");
  a.time_zone = "Asia/Tokyo";          // UTC+9, no DST
  a.shifts = {{1, "22:00", "06:00"}};  // Monday night into Tuesday
  Add(a);
  const TicketToRoute t = Ticket();
  struct Probe {
    absl::Time at;
    bool in_shift;
  };
  for (const Probe& p : {
           Probe{Utc(2026, 3, 23, 12, 59), false},  // Mon 21:59 Tokyo
           Probe{Utc(2026, 3, 23, 13, 0), true},    // Mon 22:00
           Probe{Utc(2026, 3, 23, 15, 0), true},    // Tue 00:00
           Probe{Utc(2026, 3, 23, 20, 59), true},   // Tue 05:59
           Probe{Utc(2026, 3, 23, 21, 0), false},   // Tue 06:00: the end is exclusive
           Probe{Utc(2026, 3, 22, 14, 0), false},   // Sun 23:00: not a shift day
           Probe{Utc(2026, 3, 24, 14, 0), false},   // Tue 23:00
       }) {
    clock_.Set(p.at);
    EXPECT_EQ(profiles_.back().InShift(p.at), p.in_shift) << absl::FormatTime(p.at);
    EXPECT_EQ(Chosen(t), p.in_shift ? "tokyo" : "<none>") << absl::FormatTime(p.at);
  }
}

TEST_F(MatchingTest, SundayNightShiftRunsIntoMonday) {
  Agent a = BaseAgent("ny");
  a.time_zone = "America/New_York";
  a.shifts = {{7, "20:00", "02:00"}};
  Add(a);
  // Mon 2026-03-23 05:30 UTC = Mon 01:30 EDT.
  EXPECT_TRUE(profiles_.back().InShift(Utc(2026, 3, 23, 5, 30)));
  // Mon 06:30 UTC = Mon 02:30 EDT.
  EXPECT_FALSE(profiles_.back().InShift(Utc(2026, 3, 23, 6, 30)));
}

TEST_F(MatchingTest, ShiftKeepsItsLocalHoursAcrossDst) {
  Agent a = BaseAgent("stockholm");
  a.time_zone = "Europe/Stockholm";  // CET -> CEST on Sunday 2026-03-29
  a.shifts = {{1, "08:00", "16:00"}};
  Add(a);
  const AgentProfile& p = profiles_.back();
  // Monday before the change: UTC+1.
  EXPECT_FALSE(p.InShift(Utc(2026, 3, 23, 6, 30)));  // 07:30 local
  EXPECT_TRUE(p.InShift(Utc(2026, 3, 23, 7, 0)));    // 08:00 local
  EXPECT_TRUE(p.InShift(Utc(2026, 3, 23, 14, 30)));  // 15:30 local
  // Monday after the change: UTC+2, so the same UTC instants move an hour later locally.
  EXPECT_TRUE(p.InShift(Utc(2026, 3, 30, 6, 30)));    // 08:30 local
  EXPECT_FALSE(p.InShift(Utc(2026, 3, 30, 14, 30)));  // 16:30 local
  EXPECT_TRUE(p.InShift(Utc(2026, 3, 30, 13, 59)));   // 15:59 local
}

TEST_F(MatchingTest, NightShiftOverTheDstNight) {
  Agent a = BaseAgent("night");
  a.time_zone = "Europe/Stockholm";
  a.shifts = {{6, "22:00", "06:00"}};  // Saturday 2026-03-28 night; clocks skip 02:00-03:00
  Add(a);
  const AgentProfile& p = profiles_.back();
  EXPECT_TRUE(p.InShift(Utc(2026, 3, 28, 21, 0)));  // Sat 22:00 CET
  EXPECT_TRUE(p.InShift(Utc(2026, 3, 29, 1, 0)));   // Sun 03:00 CEST (02:xx never existed)
  EXPECT_TRUE(p.InShift(Utc(2026, 3, 29, 3, 59)));  // Sun 05:59 CEST
  EXPECT_FALSE(p.InShift(Utc(2026, 3, 29, 4, 0)));  // Sun 06:00 CEST: 7 real hours
}

TEST_F(MatchingTest, OverflowStageAppliesAfterExactlyAfterSeconds) {
  Agent a = BaseAgent("generalist");
  a.skills = {};
  Add(a);
  policy_.overflow_stages = {{60, OverflowRelax::kSkillsOptional}};
  const TicketToRoute t = Ticket({"sap-fi"});
  EXPECT_EQ(StageAt(policy_, t.queued_time, clock_.Now()), 0);
  clock_.Advance(absl::Seconds(59));
  EXPECT_EQ(Chosen(t), "<none>");
  clock_.Advance(absl::Seconds(1));
  EXPECT_EQ(StageAt(policy_, t.queued_time, clock_.Now()), 1);
  auto d = Choose(t);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->agent_id, "generalist");
  EXPECT_EQ(d->stage, 1);
}

TEST_F(MatchingTest, AnyProficientLanguageWidensToLowerProficiencyOrAnotherTenantLanguage) {
  Agent weak = BaseAgent("weak");
  weak.languages = {{"pt-BR", 1}};
  Agent english = BaseAgent("english");
  english.languages = {{"en", 4}};
  Agent german = BaseAgent("german");
  german.languages = {{"de", 5}};
  policy_.overflow_stages = {{30, OverflowRelax::kAnyProficientLanguage}};
  tenant_languages_ = {"pt-BR", "en"};
  Add(german);
  const TicketToRoute t = Ticket();
  clock_.Advance(absl::Seconds(30));
  EXPECT_EQ(Chosen(t), "<none>");  // German is not the tenant's
  Add(english);
  auto d = Choose(t);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->agent_id, "english");
  EXPECT_EQ(d->stage, 1);
  Add(weak);
  // Both qualify at stage 1; the one with some Portuguese fits better.
  EXPECT_EQ(Chosen(t), "weak");
}

TEST_F(MatchingTest, NextTierAndTheStagesAccumulate) {
  Agent second = BaseAgent("second-line");
  second.tier = 2;
  second.skills = {};
  Add(second);
  policy_.overflow_stages = {{10, OverflowRelax::kNextTier}, {20, OverflowRelax::kSkillsOptional}};
  const TicketToRoute t = Ticket();
  EXPECT_EQ(Chosen(t), "<none>");
  clock_.Advance(absl::Seconds(10));
  EXPECT_EQ(Chosen(t), "<none>");  // tier 2 is in, but the skill is still required
  clock_.Advance(absl::Seconds(10));
  auto d = Choose(t);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->stage, 2);
}

TEST_F(MatchingTest, TheLowestStageWinsOverABetterFitAtAHigherStage) {
  Agent expert = BaseAgent("expert-tier2");
  expert.tier = 2;
  expert.skills = {{"printers", 5}};
  Add(expert);
  Agent basic = BaseAgent("basic-tier1");
  basic.skills = {{"printers", 1}};
  basic.languages = {{"pt-BR", 3}};
  Add(basic);
  policy_.overflow_stages = {{10, OverflowRelax::kNextTier}};
  const TicketToRoute t = Ticket();
  clock_.Advance(absl::Minutes(5));
  auto d = Choose(t);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->agent_id, "basic-tier1");
  EXPECT_EQ(d->stage, 0);
}

TEST_F(MatchingTest, RankingFitThenLeastLoadedThenLongestIdle) {
  Agent a = BaseAgent("a-level3");
  Agent b = BaseAgent("b-level5");
  b.skills = {{"printers", 5}};
  Add(a);
  Candidate& cb = Add(b);
  cb.state.active_tickets = 2;  // busier, but fits better
  EXPECT_EQ(Chosen(Ticket()), "b-level5");

  candidates_.clear();
  profiles_.clear();
  Add(BaseAgent("loaded")).state.active_tickets = 2;
  Add(BaseAgent("light")).state.active_tickets = 1;
  EXPECT_EQ(Chosen(Ticket()), "light");

  candidates_.clear();
  profiles_.clear();
  Add(BaseAgent("recent")).state.last_assignment_time = clock_.Now() - absl::Minutes(1);
  Add(BaseAgent("idle")).state.last_assignment_time = clock_.Now() - absl::Minutes(30);
  EXPECT_EQ(Chosen(Ticket()), "idle");
  Add(BaseAgent("never"));  // never assigned: idle longest of all
  EXPECT_EQ(Chosen(Ticket()), "never");
}

TEST_F(MatchingTest, AnAgentWhoRejectedIsSkipped) {
  Add(BaseAgent("first")).state.last_assignment_time = clock_.Now() - absl::Hours(2);
  Add(BaseAgent("second")).state.last_assignment_time = clock_.Now() - absl::Hours(1);
  const TicketToRoute t = Ticket();
  EXPECT_EQ(Chosen(t), "first");
  EXPECT_EQ(Chosen(t, {"first"}), "second");
  EXPECT_EQ(Chosen(t, {"first", "second"}), "<none>");
}

TEST_F(MatchingTest, StageAtCountsFullyPassedStages) {
  policy_.overflow_stages = {{30, OverflowRelax::kAnyProficientLanguage},
                             {90, OverflowRelax::kSkillsOptional}};
  const absl::Time q = clock_.Now();
  EXPECT_EQ(StageAt(policy_, q, q), 0);
  EXPECT_EQ(StageAt(policy_, q, q + absl::Seconds(30)), 1);
  EXPECT_EQ(StageAt(policy_, q, q + absl::Seconds(89)), 1);
  EXPECT_EQ(StageAt(policy_, q, q + absl::Seconds(90)), 2);
  EXPECT_EQ(StageAt(policy_, q, q + absl::Hours(9)), 2);
  EXPECT_EQ(StageAt(RoutingPolicy{}, q, q + absl::Hours(9)), 0);
}

TEST(CandidateIndexTest, BucketsByTenantAndLanguageMostProficientFirst) {
  Agent a;
  a.agent_id = "a";
  a.languages = {{"pt-BR", 2}, {"EN", 5}};
  a.certifications = {{kTenant, std::nullopt}, {kOtherTenant, std::nullopt}};
  Agent b = a;
  b.agent_id = "b";
  b.languages = {{"pt-br", 4}};
  b.certifications = {{kTenant, std::nullopt}};
  std::deque<AgentProfile> profiles = {AgentProfile(a), AgentProfile(b)};
  std::vector<Candidate> all = {{&profiles[0], {}}, {&profiles[1], {}}};
  CandidateIndex index(all);
  EXPECT_EQ(index.TenantCandidates(kTenant).size(), 2u);
  ASSERT_EQ(index.TenantCandidates(kOtherTenant).size(), 1u);
  EXPECT_TRUE(index.TenantCandidates("nobody").empty());
  auto pt = index.LanguageCandidates(kTenant, "PT-BR", 1);
  ASSERT_EQ(pt.size(), 2u);
  EXPECT_EQ(pt[0].profile->agent().agent_id, "b");  // proficiency 4 before 2
  EXPECT_EQ(index.LanguageCandidates(kTenant, "pt-BR", 3).size(), 1u);
  EXPECT_EQ(index.LanguageCandidates(kOtherTenant, "en", 5).size(), 1u);
  EXPECT_TRUE(index.LanguageCandidates(kOtherTenant, "pt-BR", 3).empty());
  // A state update reaches every bucket the agent is in.
  EXPECT_TRUE(index.UpdateState("a", {.status = PresenceStatus::kBusy, .active_tickets = 2}));
  EXPECT_FALSE(index.UpdateState("nobody", {}));
  for (const Candidate& c : index.LanguageCandidates(kOtherTenant, "en", 1)) {
    EXPECT_EQ(c.state.status, PresenceStatus::kBusy);
    EXPECT_EQ(c.state.active_tickets, 2);
  }
}

// A generated population (several tenants, languages, skills, tiers, shifts in other
// zones, expired certifications, mixed presence and load) and tickets queued at various
// times under various policies: the index always answers what ChooseAgent over everyone
// answers.
TEST(CandidateIndexTest, AgreesWithChooseAgentOverEveryone) {
  std::mt19937 rng(7);
  auto pick = [&](int n) { return static_cast<int>(rng() % n); };
  const absl::Time now =
      absl::FromCivil(absl::CivilSecond(2026, 3, 25, 10, 0, 0), absl::UTCTimeZone());
  const std::vector<std::string> tenants = {kTenant, kOtherTenant,
                                            "0190a000-0000-7000-8000-0000000000cc"};
  const std::vector<std::string> languages = {"en", "sv", "pt-BR", "de", "ja"};
  const char* zones[] = {"Europe/Stockholm", "America/Sao_Paulo", "Asia/Tokyo", "UTC"};
  std::deque<AgentProfile> profiles;
  std::vector<Candidate> all;
  for (int i = 0; i < 400; ++i) {
    Agent a;
    a.agent_id = absl::StrCat("agent-", i);
    a.languages = {{languages[pick(5)], 1 + pick(5)}};
    if (pick(2) == 0) a.languages.push_back({"EN", 1 + pick(5)});
    for (int s = pick(4); s > 0; --s)
      a.skills.push_back({absl::StrCat("skill-", pick(6)), 1 + pick(5)});
    for (const std::string& t : tenants) {
      if (pick(2) == 0) continue;
      Certification c{t, std::nullopt};
      if (pick(8) == 0) c.expire_time = now - absl::Hours(1);
      a.certifications.push_back(c);
    }
    a.capacity = 1 + pick(3);
    a.time_zone = zones[pick(4)];
    if (pick(3) > 0) {
      for (int d = 1; d <= 7; ++d) a.shifts.push_back({d, pick(2) ? "08:00" : "22:00", "16:00"});
    }
    a.tier = 1 + pick(3);
    a.disabled = pick(20) == 0;
    profiles.emplace_back(a);
    AgentLiveState state;
    state.status = static_cast<PresenceStatus>(1 + pick(4));
    state.active_tickets = pick(3);
    if (pick(4) > 0) state.last_assignment_time = now - absl::Seconds(pick(600));
    all.push_back({&profiles.back(), state});
  }
  const CandidateIndex index(all);
  const std::vector<std::vector<OverflowStage>> stage_sets = {
      {},
      {{60, OverflowRelax::kAnyProficientLanguage}, {180, OverflowRelax::kSkillsOptional}},
      {{30, OverflowRelax::kSkillsOptional},
       {90, OverflowRelax::kNextTier},
       {150, OverflowRelax::kAnyProficientLanguage},
       {240, OverflowRelax::kNextTier}},
      {{20, OverflowRelax::kNextTier}}};
  int compared = 0, matched = 0;
  for (int i = 0; i < 3000; ++i) {
    TicketToRoute t;
    t.ticket_id = absl::StrCat("t", i);
    t.tenant_id = tenants[pick(3)];
    t.language = languages[pick(5)];
    if (pick(2) == 0) t.language = absl::AsciiStrToUpper(t.language);
    for (int s = pick(3); s > 0; --s) t.required_skills.push_back(absl::StrCat("skill-", pick(6)));
    t.queued_time = now - absl::Seconds(pick(300));
    RoutingPolicy policy;
    policy.tenant_id = t.tenant_id;
    policy.overflow_stages = stage_sets[pick(4)];
    policy.min_language_proficiency = pick(6);  // 0 too: everyone speaks it
    const std::vector<std::string> tenant_languages = {languages[pick(5)], "en"};
    std::set<std::string> excluded;
    if (pick(5) == 0) excluded.insert(absl::StrCat("agent-", pick(400)));
    const absl::Time at = now + absl::Minutes(pick(3) * 300);
    auto want = ChooseAgent(t, policy, tenant_languages, all, excluded, at);
    auto got = index.Choose(t, policy, tenant_languages, excluded, at);
    ASSERT_EQ(got.has_value(), want.has_value()) << t.ticket_id;
    if (want.has_value()) {
      ++matched;
      EXPECT_EQ(got->agent_id, want->agent_id) << t.ticket_id;
      EXPECT_EQ(got->stage, want->stage) << t.ticket_id;
    }
    ++compared;
  }
  EXPECT_EQ(compared, 3000);
  // The population is varied enough that both answers occur often.
  EXPECT_GT(matched, 300);
  EXPECT_LT(matched, 2700);
}

// ChooseLive asks for the live state of the best-ranked agents only (stage, then fit), and
// of the next ones only when none of those is eligible; the answer stays ChooseAgent's.
TEST(CandidateIndexTest, ChooseLiveReadsTheBestRankedAgentsFirst) {
  const absl::Time now =
      absl::FromCivil(absl::CivilSecond(2026, 3, 25, 10, 0, 0), absl::UTCTimeZone());
  std::deque<AgentProfile> profiles;
  std::vector<Candidate> all;
  for (int i = 0; i < 300; ++i) {
    Agent a;
    a.agent_id = absl::StrCat("agent-", 1000 + i);
    a.languages = {{"en", 3 + i % 3}};
    a.skills = {{"billing", 1 + i % 5}};
    a.certifications = {{kTenant, std::nullopt}};
    a.capacity = 2;
    a.tier = 1;
    profiles.emplace_back(a);
    // The best-fitting agents (proficiency 5, skill 5) are all busy.
    const bool best_fit = i % 3 == 2 && i % 5 == 4;
    all.push_back({&profiles.back(),
                   {.status = best_fit ? PresenceStatus::kBusy : PresenceStatus::kAvailable,
                    .active_tickets = i % 2}});
  }
  const CandidateIndex index(all);
  TicketToRoute t;
  t.ticket_id = "t";
  t.tenant_id = kTenant;
  t.language = "en";
  t.required_skills = {"billing"};
  t.queued_time = now;
  RoutingPolicy policy;
  policy.tenant_id = kTenant;
  std::vector<size_t> reads;
  auto got = index.ChooseLive(t, policy, {}, {}, now, [&](absl::Span<const Candidate> asked) {
    reads.push_back(asked.size());
    std::vector<AgentLiveState> states;
    for (const Candidate& c : asked) states.push_back(c.state);
    return absl::StatusOr<std::vector<AgentLiveState>>(states);
  });
  ASSERT_TRUE(got.ok());
  auto want = ChooseAgent(t, policy, {}, all, {}, now);
  ASSERT_TRUE(want.has_value());
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->agent_id, want->agent_id);
  // 20 agents share the best rank (all busy) and are read first; the next rank (fit 9:
  // 20 more) comes with them or in a second read; nobody near all 300 is read.
  ASSERT_GE(reads.size(), 1u);
  size_t total = 0;
  for (size_t n : reads) total += n;
  EXPECT_GE(reads[0], 20u);
  EXPECT_LT(total, 200u);
}

}  // namespace
}  // namespace sundesk::routing
