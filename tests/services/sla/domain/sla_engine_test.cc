#include "services/sla/domain/sla_engine.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/core/clock.h"
#include "services/sla/domain/ledger.h"
#include "tests/services/sla/domain/fake_policy_catalog.h"

namespace sundesk::sla {
namespace {

using Kind = SlaSignal::Kind;
constexpr char kStockholm[] = "Europe/Stockholm";
constexpr char kTenant[] = "tenant-1";

absl::Time Local(const std::string& zone, int y, int mo, int d, int h, int mi, int s = 0) {
  absl::TimeZone tz;
  EXPECT_TRUE(absl::LoadTimeZone(zone, &tz));
  return absl::FromCivil(absl::CivilSecond(y, mo, d, h, mi, s), tz);
}

calendar::BusinessCalendar OfficeHours(const std::string& zone) {
  calendar::CalendarSpec spec{.time_zone = zone};
  for (int wd = 1; wd <= 5; ++wd) spec.hours.push_back({wd, "09:00", "17:00"});
  spec.holidays.push_back({"2026-06-19", "", ""});
  return *calendar::BusinessCalendar::Create(spec);
}

Policy MakePolicy(const std::string& id, Priority priority, absl::Duration first_response,
                  absl::Duration resolution, const std::string& calendar_id = "24x7") {
  return Policy{.policy_id = id,
                .tenant_id = kTenant,
                .priority = priority,
                .first_response = first_response,
                .resolution = resolution,
                .calendar_id = calendar_id,
                .warn_at_percent = 80};
}

class SlaEngineTest : public ::testing::Test {
 protected:
  SlaEngineTest() {
    catalog_.AddCalendar("24x7", calendar::BusinessCalendar::AlwaysOpen());
    catalog_.AddCalendar("office", OfficeHours(kStockholm));
    catalog_.AddCalendar("ny-office", OfficeHours("America/New_York"));
  }

  TicketFacts Facts(Priority priority, TicketStatus status) {
    return TicketFacts{.ticket_id = "ticket-1",
                       .tenant_id = kTenant,
                       .priority = priority,
                       .channel = Channel::kEmail,
                       .tags = {"vip"},
                       .status = status};
  }
  TicketEvent Event(TicketEvent::Kind kind, absl::Time t) {
    ++sequence_;
    return TicketEvent{.kind = kind,
                       .event_id = absl::StrCat("event-", sequence_),
                       .sequence = sequence_,
                       .time = t,
                       .ticket = Facts(priority_, status_)};
  }
  TicketEvent Created(absl::Time t, Priority priority = Priority::kNormal) {
    priority_ = priority;
    status_ = TicketStatus::kNew;
    return Event(TicketEvent::Kind::kCreated, t);
  }
  TicketEvent Status(absl::Time t, TicketStatus to) {
    status_ = to;
    return Event(TicketEvent::Kind::kStatusChanged, t);
  }
  TicketEvent Reprioritized(absl::Time t, Priority priority) {
    priority_ = priority;
    return Event(TicketEvent::Kind::kUpdated, t);
  }
  TicketEvent Comment(absl::Time t, AuthorKind author, bool is_public = true) {
    TicketEvent e = Event(TicketEvent::Kind::kCommentAdded, t);
    e.author_kind = author;
    e.is_public = is_public;
    return e;
  }

  // Applies at the event's time, as the consumer would just after the commit.
  std::vector<SlaSignal> Apply(const TicketEvent& e) {
    if (clock_.Now() < e.time) clock_.Set(e.time);
    auto signals = engine_.Apply(sla_, e);
    EXPECT_TRUE(signals.ok()) << signals.status();
    return signals.ok() ? *signals : std::vector<SlaSignal>{};
  }
  std::vector<SlaSignal> FireAt(absl::Time now) {
    clock_.Set(now);
    auto signals = engine_.FireDue(sla_);
    EXPECT_TRUE(signals.ok()) << signals.status();
    return signals.ok() ? *signals : std::vector<SlaSignal>{};
  }
  ClockView ViewOf(Metric metric) {
    auto views = engine_.View(sla_);
    EXPECT_TRUE(views.ok());
    for (const ClockView& v : *views) {
      if (v.metric == metric) return v;
    }
    ADD_FAILURE() << "no clock " << static_cast<int>(metric);
    return {};
  }
  std::vector<v1::LedgerAction> Actions(Metric metric) {
    std::vector<v1::LedgerAction> out;
    for (const LedgerEntry& e : sla_.ledger) {
      if (e.metric() == static_cast<v1::SlaMetric>(metric)) out.push_back(e.action());
    }
    return out;
  }

  FakeClock clock_;
  FakePolicyCatalog catalog_;
  SlaEngine engine_{catalog_, clock_};
  TicketSla sla_;
  int64_t sequence_ = 0;
  Priority priority_ = Priority::kNormal;
  TicketStatus status_ = TicketStatus::kNew;
};

const absl::Time kT0 = absl::FromUnixSeconds(1'767'258'000);  // Thu 2026-01-01 09:00 UTC

TEST_F(SlaEngineTest, CreationStartsFirstResponseAndResolution) {
  catalog_.AddPolicy(MakePolicy("p", Priority::kUnspecified, absl::Hours(1), absl::Hours(8)));
  const std::vector<SlaSignal> s = Apply(Created(kT0));
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].kind, Kind::kClockStarted);
  EXPECT_EQ(s[0].metric, Metric::kFirstResponse);
  EXPECT_EQ(s[0].deadline, kT0 + absl::Hours(1));
  EXPECT_EQ(s[1].metric, Metric::kResolution);
  EXPECT_EQ(s[1].deadline, kT0 + absl::Hours(8));
  EXPECT_EQ(sla_.policy_id, "p");
  EXPECT_EQ(SlaEngine::NextDue(sla_), kT0 + absl::Minutes(48));  // 80 % of first_response
  clock_.Set(kT0 + absl::Minutes(30));
  const ClockView fr = ViewOf(Metric::kFirstResponse);
  EXPECT_EQ(fr.state, ClockState::kRunning);
  EXPECT_EQ(fr.elapsed, absl::Minutes(30));
  EXPECT_EQ(fr.remaining, absl::Minutes(30));
}

TEST_F(SlaEngineTest, TenantWithoutPolicyHasNoClocks) {
  catalog_.AddPolicy(MakePolicy("urgent-only", Priority::kUrgent, absl::Hours(1), absl::Hours(8)));
  EXPECT_TRUE(Apply(Created(kT0, Priority::kLow)).empty());
  EXPECT_TRUE(sla_.clocks.empty());
  EXPECT_TRUE(sla_.policy_id.empty());
  EXPECT_TRUE(Apply(Comment(kT0 + absl::Minutes(5), AuthorKind::kAgent)).empty());
  EXPECT_TRUE(engine_.View(sla_)->empty());
}

TEST_F(SlaEngineTest, WarningAtExactlyThePercentageThenBreachAtTheDeadline) {
  catalog_.AddPolicy(
      MakePolicy("p", Priority::kUnspecified, absl::Seconds(100), absl::ZeroDuration()));
  Apply(Created(kT0));
  EXPECT_TRUE(FireAt(kT0 + absl::Seconds(79)).empty());
  std::vector<SlaSignal> s = FireAt(kT0 + absl::Seconds(80));
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].kind, Kind::kWarning);
  EXPECT_EQ(s[0].time, kT0 + absl::Seconds(80));
  EXPECT_EQ(s[0].elapsed, absl::Seconds(80));
  EXPECT_EQ(s[0].remaining, absl::Seconds(20));
  EXPECT_EQ(s[0].percent, 80);
  EXPECT_TRUE(FireAt(kT0 + absl::Seconds(99)).empty());
  s = FireAt(kT0 + absl::Seconds(100));
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].kind, Kind::kBreached);
  EXPECT_EQ(s[0].deadline, kT0 + absl::Seconds(100));
  EXPECT_TRUE(FireAt(kT0 + absl::Hours(5)).empty());  // each fires once
  // A breached clock keeps counting until stopped.
  const ClockView fr = ViewOf(Metric::kFirstResponse);
  EXPECT_EQ(fr.state, ClockState::kBreached);
  EXPECT_EQ(fr.remaining, absl::Seconds(100) - absl::Hours(5));
  // The late reply stops it without a SlaMet.
  s = Apply(Comment(kT0 + absl::Hours(6), AuthorKind::kAgent));
  EXPECT_TRUE(s.empty());
  EXPECT_EQ(ViewOf(Metric::kFirstResponse).elapsed, absl::Hours(6));
  EXPECT_THAT(Actions(Metric::kFirstResponse),
              ::testing::ElementsAre(v1::LEDGER_ACTION_STARTED, v1::LEDGER_ACTION_WARNED,
                                     v1::LEDGER_ACTION_BREACHED, v1::LEDGER_ACTION_STOPPED));
}

TEST_F(SlaEngineTest, TimersFiredLateCarryTheirDueInstant) {
  catalog_.AddPolicy(
      MakePolicy("p", Priority::kUnspecified, absl::Minutes(10), absl::ZeroDuration()));
  Apply(Created(kT0));
  const std::vector<SlaSignal> s = FireAt(kT0 + absl::Hours(3));  // e.g. after a restart
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].kind, Kind::kWarning);
  EXPECT_EQ(s[0].time, kT0 + absl::Minutes(8));
  EXPECT_EQ(s[1].kind, Kind::kBreached);
  EXPECT_EQ(s[1].time, kT0 + absl::Minutes(10));
  EXPECT_EQ(sla_.ledger.back().time().seconds(), absl::ToUnixSeconds(kT0 + absl::Minutes(10)));
}

TEST_F(SlaEngineTest, ReplyBeforeTheDeadlineMeetsAndAtTheDeadlineIsLate) {
  catalog_.AddPolicy(
      MakePolicy("p", Priority::kUnspecified, absl::Minutes(10), absl::ZeroDuration()));
  Apply(Created(kT0));
  std::vector<SlaSignal> s =
      Apply(Comment(kT0 + absl::Minutes(10) - absl::Seconds(1), AuthorKind::kAgent));
  ASSERT_EQ(s.size(), 2u);  // the warning at 8 min, then met
  EXPECT_EQ(s[0].kind, Kind::kWarning);
  EXPECT_EQ(s[1].kind, Kind::kMet);
  EXPECT_EQ(s[1].elapsed, absl::Minutes(10) - absl::Seconds(1));
  EXPECT_EQ(ViewOf(Metric::kFirstResponse).state, ClockState::kMet);

  TicketSla other;
  sla_ = other;
  sequence_ = 0;
  Apply(Created(kT0));
  s = Apply(Comment(kT0 + absl::Minutes(10), AuthorKind::kAgent));
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[1].kind, Kind::kBreached);  // the deadline came first
  EXPECT_EQ(ViewOf(Metric::kFirstResponse).state, ClockState::kBreached);
}

TEST_F(SlaEngineTest, OnlyPublicAgentCommentsRespond) {
  catalog_.AddPolicy(MakePolicy("p", Priority::kUnspecified, absl::Hours(1), absl::ZeroDuration()));
  Apply(Created(kT0));
  EXPECT_TRUE(
      Apply(Comment(kT0 + absl::Minutes(1), AuthorKind::kAgent, /*is_public=*/false)).empty());
  EXPECT_TRUE(Apply(Comment(kT0 + absl::Minutes(2), AuthorKind::kCustomer)).empty());
  EXPECT_EQ(ViewOf(Metric::kFirstResponse).state, ClockState::kRunning);
  const std::vector<SlaSignal> s = Apply(Comment(kT0 + absl::Minutes(3), AuthorKind::kAgent));
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].kind, Kind::kMet);
  EXPECT_EQ(s[0].elapsed, absl::Minutes(3));
}

TEST_F(SlaEngineTest, CreatedOutsideOpenHoursStartsWhenTheDeskOpens) {
  catalog_.AddPolicy(
      MakePolicy("p", Priority::kUnspecified, absl::Hours(2), absl::Hours(16), "office"));
  const absl::Time saturday = Local(kStockholm, 2026, 1, 10, 11, 0);
  const std::vector<SlaSignal> s = Apply(Created(saturday));
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].deadline, Local(kStockholm, 2026, 1, 12, 11, 0));
  EXPECT_EQ(s[1].deadline, Local(kStockholm, 2026, 1, 13, 17, 0));
  clock_.Set(Local(kStockholm, 2026, 1, 12, 8, 59));
  EXPECT_EQ(ViewOf(Metric::kFirstResponse).elapsed, absl::ZeroDuration());
  // Warning at 80 % of 2 h of open time: Monday 10:36.
  EXPECT_TRUE(FireAt(Local(kStockholm, 2026, 1, 12, 10, 35, 59)).empty());
  const std::vector<SlaSignal> w = FireAt(Local(kStockholm, 2026, 1, 12, 10, 36));
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0].kind, Kind::kWarning);
}

TEST_F(SlaEngineTest, BusinessHoursAcrossAHolidayWeekend) {
  catalog_.AddPolicy(
      MakePolicy("p", Priority::kUnspecified, absl::Hours(4), absl::ZeroDuration(), "office"));
  // Thursday 15:00 before Midsommarafton: 2 h Thursday, then Monday 09:00-11:00.
  const std::vector<SlaSignal> s = Apply(Created(Local(kStockholm, 2026, 6, 18, 15, 0)));
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].deadline, Local(kStockholm, 2026, 6, 22, 11, 0));
}

TEST_F(SlaEngineTest, PendingPausesAndOpenResumes) {
  catalog_.AddPolicy(MakePolicy("p", Priority::kUnspecified, absl::ZeroDuration(), absl::Hours(4)));
  Apply(Created(kT0));
  Apply(Status(kT0 + absl::Minutes(10), TicketStatus::kOpen));
  Apply(Status(kT0 + absl::Hours(1), TicketStatus::kPending));
  clock_.Set(kT0 + absl::Hours(3));
  ClockView r = ViewOf(Metric::kResolution);
  EXPECT_EQ(r.state, ClockState::kPaused);
  EXPECT_EQ(r.elapsed, absl::Hours(1));
  EXPECT_FALSE(r.deadline.has_value());
  EXPECT_EQ(SlaEngine::NextDue(sla_), absl::InfiniteFuture());
  EXPECT_TRUE(FireAt(kT0 + absl::Hours(10)).empty());  // no warning or breach while paused

  Apply(Status(kT0 + absl::Hours(10), TicketStatus::kOpen));
  r = ViewOf(Metric::kResolution);
  EXPECT_EQ(r.state, ClockState::kRunning);
  EXPECT_EQ(r.deadline, kT0 + absl::Hours(13));
  Apply(Status(kT0 + absl::Hours(11), TicketStatus::kOnHold));
  Apply(Status(kT0 + absl::Hours(20), TicketStatus::kOpen));
  EXPECT_EQ(ViewOf(Metric::kResolution).deadline, kT0 + absl::Hours(22));
  EXPECT_EQ(ViewOf(Metric::kResolution).elapsed, absl::Hours(2));
  EXPECT_THAT(Actions(Metric::kResolution),
              ::testing::ElementsAre(v1::LEDGER_ACTION_STARTED, v1::LEDGER_ACTION_PAUSED,
                                     v1::LEDGER_ACTION_RESUMED, v1::LEDGER_ACTION_PAUSED,
                                     v1::LEDGER_ACTION_RESUMED));
  EXPECT_TRUE(VerifyLedger(sla_.ledger).ok());
}

TEST_F(SlaEngineTest, SolvedMeetsResolutionAndReopenResumesKeepingElapsed) {
  catalog_.AddPolicy(MakePolicy("p", Priority::kUnspecified, absl::Hours(1), absl::Hours(4)));
  Apply(Created(kT0));
  std::vector<SlaSignal> s = Apply(Status(kT0 + absl::Minutes(30), TicketStatus::kSolved));
  ASSERT_EQ(s.size(), 1u);  // first_response without a reply is canceled, not met
  EXPECT_EQ(s[0].kind, Kind::kMet);
  EXPECT_EQ(s[0].metric, Metric::kResolution);
  EXPECT_EQ(s[0].elapsed, absl::Minutes(30));
  const std::string first_met_id = s[0].event_id;
  EXPECT_THAT(Actions(Metric::kFirstResponse),
              ::testing::ElementsAre(v1::LEDGER_ACTION_STARTED, v1::LEDGER_ACTION_CANCELED));

  EXPECT_TRUE(Apply(Status(kT0 + absl::Hours(5), TicketStatus::kOpen)).empty());  // reopened
  ClockView r = ViewOf(Metric::kResolution);
  EXPECT_EQ(r.state, ClockState::kRunning);
  EXPECT_EQ(r.elapsed, absl::Minutes(30));
  EXPECT_EQ(r.deadline, kT0 + absl::Hours(5) + absl::Minutes(210));
  EXPECT_EQ(r.cycle, 1);

  s = Apply(Status(kT0 + absl::Hours(6), TicketStatus::kSolved));
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].elapsed, absl::Minutes(90));
  EXPECT_NE(s[0].event_id, first_met_id);
}

TEST_F(SlaEngineTest, PriorityChangeRetargetsKeepingElapsed) {
  catalog_.AddPolicy(MakePolicy("normal", Priority::kNormal, absl::Hours(8), absl::Hours(24)));
  catalog_.AddPolicy(MakePolicy("urgent", Priority::kUrgent, absl::Hours(2), absl::Hours(4)));
  Apply(Created(kT0, Priority::kNormal));
  Apply(Reprioritized(kT0 + absl::Hours(1), Priority::kUrgent));
  EXPECT_EQ(sla_.policy_id, "urgent");
  clock_.Set(kT0 + absl::Hours(1));
  ClockView fr = ViewOf(Metric::kFirstResponse);
  EXPECT_EQ(fr.target, absl::Hours(2));
  EXPECT_EQ(fr.elapsed, absl::Hours(1));
  EXPECT_EQ(fr.deadline, kT0 + absl::Hours(2));
  EXPECT_EQ(ViewOf(Metric::kResolution).deadline, kT0 + absl::Hours(4));
  EXPECT_THAT(Actions(Metric::kFirstResponse),
              ::testing::ElementsAre(v1::LEDGER_ACTION_STARTED, v1::LEDGER_ACTION_RETARGETED));
  EXPECT_EQ(sla_.ledger.back().policy_id(), "urgent");
}

TEST_F(SlaEngineTest, RetargetPastTheNewTargetBreachesAtOnce) {
  catalog_.AddPolicy(MakePolicy("normal", Priority::kNormal, absl::Hours(8), absl::ZeroDuration()));
  catalog_.AddPolicy(MakePolicy("urgent", Priority::kUrgent, absl::Hours(2), absl::ZeroDuration()));
  Apply(Created(kT0, Priority::kNormal));
  Apply(Status(kT0 + absl::Hours(1), TicketStatus::kPending));
  Apply(Status(kT0 + absl::Hours(2), TicketStatus::kOpen));
  const std::vector<SlaSignal> s = Apply(Reprioritized(kT0 + absl::Hours(4), Priority::kUrgent));
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].kind, Kind::kBreached);
  EXPECT_EQ(s[0].time, kT0 + absl::Hours(4));
  EXPECT_EQ(s[0].elapsed, absl::Hours(3));
}

TEST_F(SlaEngineTest, PolicyLosingATargetCancelsThatClock) {
  catalog_.AddPolicy(MakePolicy("normal", Priority::kNormal, absl::Hours(8), absl::Hours(24)));
  catalog_.AddPolicy(MakePolicy("low", Priority::kLow, absl::ZeroDuration(), absl::Hours(48)));
  Apply(Created(kT0, Priority::kNormal));
  Apply(Reprioritized(kT0 + absl::Hours(1), Priority::kLow));
  auto views = engine_.View(sla_);
  ASSERT_EQ(views->size(), 1u);
  EXPECT_EQ((*views)[0].metric, Metric::kResolution);
  EXPECT_EQ((*views)[0].target, absl::Hours(48));
}

TEST_F(SlaEngineTest, NextResponseCycles) {
  Policy p = MakePolicy("p", Priority::kUnspecified, absl::Hours(1), absl::ZeroDuration());
  p.next_response = absl::Minutes(30);
  catalog_.AddPolicy(p);
  Apply(Created(kT0));
  Apply(Comment(kT0 + absl::Minutes(10), AuthorKind::kAgent));  // first response
  std::vector<SlaSignal> s = Apply(Comment(kT0 + absl::Minutes(20), AuthorKind::kCustomer));
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].kind, Kind::kClockStarted);
  EXPECT_EQ(s[0].metric, Metric::kNextResponse);
  EXPECT_EQ(s[0].cycle, 1);
  EXPECT_EQ(s[0].deadline, kT0 + absl::Minutes(50));
  // A second customer message while one waits starts nothing: the oldest unanswered counts.
  EXPECT_TRUE(Apply(Comment(kT0 + absl::Minutes(25), AuthorKind::kCustomer)).empty());
  s = Apply(Comment(kT0 + absl::Minutes(35), AuthorKind::kAgent));
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].kind, Kind::kMet);
  EXPECT_EQ(s[0].elapsed, absl::Minutes(15));
  s = Apply(Comment(kT0 + absl::Hours(2), AuthorKind::kCustomer));
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].cycle, 2);
  s = FireAt(kT0 + absl::Hours(3));
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].kind, Kind::kWarning);
  EXPECT_EQ(s[0].time, kT0 + absl::Hours(2) + absl::Minutes(24));
  EXPECT_EQ(s[1].kind, Kind::kBreached);
  EXPECT_EQ(s[1].cycle, 2);
  EXPECT_EQ(ViewOf(Metric::kNextResponse).cycle, 2);
}

TEST_F(SlaEngineTest, CustomerCommentBeforeTheFirstResponseStartsNoNextResponse) {
  Policy p = MakePolicy("p", Priority::kUnspecified, absl::Hours(1), absl::ZeroDuration());
  p.next_response = absl::Minutes(30);
  catalog_.AddPolicy(p);
  Apply(Created(kT0));
  EXPECT_TRUE(Apply(Comment(kT0 + absl::Minutes(5), AuthorKind::kCustomer)).empty());
  EXPECT_EQ(sla_.Find(Metric::kNextResponse), nullptr);
}

TEST_F(SlaEngineTest, PeriodicUpdateCycles) {
  Policy p = MakePolicy("p", Priority::kUnspecified, absl::ZeroDuration(), absl::ZeroDuration());
  p.periodic_update = absl::Hours(2);
  p.warn_at_percent = 0;  // no warnings
  catalog_.AddPolicy(p);
  Apply(Created(kT0));
  EXPECT_EQ(sla_.Find(Metric::kPeriodicUpdate), nullptr);  // starts with the first reply
  std::vector<SlaSignal> s = Apply(Comment(kT0 + absl::Minutes(10), AuthorKind::kAgent));
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].cycle, 1);
  s = Apply(Comment(kT0 + absl::Hours(1), AuthorKind::kAgent));
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].kind, Kind::kMet);
  EXPECT_EQ(s[0].cycle, 1);
  EXPECT_EQ(s[1].kind, Kind::kClockStarted);
  EXPECT_EQ(s[1].cycle, 2);
  EXPECT_EQ(s[1].deadline, kT0 + absl::Hours(3));
  s = FireAt(kT0 + absl::Hours(4));
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].kind, Kind::kBreached);
  EXPECT_EQ(s[0].time, kT0 + absl::Hours(3));
}

TEST_F(SlaEngineTest, RedeliveredOrOlderEventsChangeNothing) {
  catalog_.AddPolicy(MakePolicy("p", Priority::kUnspecified, absl::Hours(1), absl::Hours(4)));
  const TicketEvent created = Created(kT0);
  Apply(created);
  const TicketEvent pending = Status(kT0 + absl::Minutes(10), TicketStatus::kPending);
  const TicketEvent open = Status(kT0 + absl::Minutes(40), TicketStatus::kOpen);
  Apply(pending);
  Apply(open);
  const TicketSla before = sla_;
  EXPECT_TRUE(Apply(created).empty());
  EXPECT_TRUE(Apply(pending).empty());  // redelivered out of order
  EXPECT_TRUE(Apply(open).empty());
  EXPECT_EQ(sla_.clocks, before.clocks);
  EXPECT_EQ(sla_.ledger.size(), before.ledger.size());
  EXPECT_EQ(sla_.last_sequence, before.last_sequence);
}

TEST_F(SlaEngineTest, ReplicasComputeTheSameSignalsAndLedger) {
  catalog_.AddPolicy(MakePolicy("p", Priority::kUnspecified, absl::Minutes(30), absl::Hours(2)));
  const std::vector<TicketEvent> events = {Created(kT0),
                                           Status(kT0 + absl::Minutes(5), TicketStatus::kOpen),
                                           Comment(kT0 + absl::Minutes(50), AuthorKind::kAgent),
                                           Status(kT0 + absl::Hours(3), TicketStatus::kSolved)};
  auto run = [&](bool fire_in_between) {
    TicketSla sla;
    FakeClock clock(kT0);
    SlaEngine engine(catalog_, clock);
    std::vector<std::string> ids;
    for (const TicketEvent& e : events) {
      if (fire_in_between) {
        clock.Set(e.time - absl::Seconds(1));
        const auto fired = engine.FireDue(sla);
        for (const SlaSignal& s : *fired) ids.push_back(s.event_id);
      }
      const auto applied = engine.Apply(sla, e);
      for (const SlaSignal& s : *applied) ids.push_back(s.event_id);
    }
    EXPECT_TRUE(VerifyLedger(sla.ledger).ok());
    return std::make_pair(ids, sla.ledger.back().hash());
  };
  const auto a = run(true);
  const auto b = run(false);
  EXPECT_EQ(a.first, b.first);
  EXPECT_EQ(a.second, b.second);
  EXPECT_EQ(a.first.size(), 6u);  // 2 started, fr warning + breach, resolution warning + breach
}

TEST_F(SlaEngineTest, DeadlinesAcrossNewYorkSpringForward) {
  catalog_.AddPolicy(
      MakePolicy("p", Priority::kUnspecified, absl::Hours(2), absl::ZeroDuration(), "ny-office"));
  // Friday 16:00 EST + 2 h of office time: Monday 10:00 EDT (14:00Z), after the change.
  const std::vector<SlaSignal> s = Apply(Created(Local("America/New_York", 2026, 3, 6, 16, 0)));
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].deadline,
            absl::FromCivil(absl::CivilSecond(2026, 3, 9, 14, 0, 0), absl::UTCTimeZone()));
}

// UpdateCalendar: the time counted on the old calendar up to the change is kept, the rest of
// the target runs on the new calendar; applied once however often it is offered.
TEST_F(SlaEngineTest, CalendarChangeReplansKeepingTheTimeCountedBefore) {
  catalog_.AddPolicy(
      MakePolicy("p", Priority::kUnspecified, absl::Hours(8), absl::ZeroDuration(), "office"));
  const absl::Time created = Local(kStockholm, 2026, 1, 8, 10, 0);  // Thu 10:00
  Apply(Created(created));
  // Office hours: 7 h on Thursday, the last hour on Friday.
  EXPECT_EQ(ViewOf(Metric::kFirstResponse).deadline, Local(kStockholm, 2026, 1, 9, 10, 0));

  // At 11:00 (1 h counted) the desk goes 24x7.
  const absl::Time change = created + absl::Hours(1);
  auto office = std::make_shared<const calendar::BusinessCalendar>(OfficeHours(kStockholm));
  catalog_.AddCalendar("office", calendar::BusinessCalendar::AlwaysOpen());
  const Replan replan{.replan_id = 7,
                      .calendar_id = "office",
                      .old_calendar = office,
                      .version = 2,
                      .change_time = change};
  sla_.pending_replans = {replan};
  EXPECT_TRUE(FireAt(change + absl::Minutes(5)).empty());
  EXPECT_EQ(sla_.replanned_through, 7);
  const ClockView fr = ViewOf(Metric::kFirstResponse);
  EXPECT_EQ(fr.deadline, change + absl::Hours(7));
  EXPECT_EQ(fr.elapsed, absl::Hours(1) + absl::Minutes(5));
  EXPECT_THAT(Actions(Metric::kFirstResponse),
              ::testing::ElementsAre(v1::LEDGER_ACTION_STARTED, v1::LEDGER_ACTION_REPLANNED));
  const LedgerEntry& entry = sla_.ledger.back();
  EXPECT_EQ(entry.cause_setting(), "calendars/office@2");
  EXPECT_EQ(entry.elapsed().seconds(), 3600);
  EXPECT_EQ(entry.deadline().seconds(), absl::ToUnixSeconds(change + absl::Hours(7)));
  EXPECT_TRUE(VerifyLedger(sla_.ledger).ok());

  // Offered again (a second replica, a retry): nothing changes.
  const size_t entries = sla_.ledger.size();
  sla_.pending_replans = {replan};
  EXPECT_TRUE(Apply(Comment(change + absl::Hours(2), AuthorKind::kCustomer)).empty());
  EXPECT_EQ(sla_.ledger.size(), entries);
  // The breach comes at the new deadline.
  const std::vector<SlaSignal> s = FireAt(change + absl::Hours(8));
  ASSERT_FALSE(s.empty());
  EXPECT_EQ(s.back().kind, Kind::kBreached);
  EXPECT_EQ(s.back().time, change + absl::Hours(7));
}

// The race of an event with a calendar update: an event applied before the update's replan
// was visible counted past the change on the old calendar. When the replan arrives, the
// clock keeps what it counted and re-plans from there on the new calendar (its deadline does
// not stay on the old one).
TEST_F(SlaEngineTest, ReplanSeenAfterAnEventCountedPastTheChangeStillReplans) {
  catalog_.AddPolicy(
      MakePolicy("p", Priority::kUnspecified, absl::Hours(8), absl::ZeroDuration(), "office"));
  const absl::Time created = Local(kStockholm, 2026, 1, 8, 10, 0);  // Thu 10:00
  Apply(Created(created));
  const absl::Time change = created + absl::Hours(1);
  // Applied without the replan: paused at 11:20, resumed at 11:30 (counted on office hours).
  Apply(Status(created + absl::Minutes(80), TicketStatus::kPending));
  Apply(Status(created + absl::Minutes(90), TicketStatus::kOpen));
  // 1 h 20 min counted; 6 h 40 min of office hours left: Thu 17:00 and 1 h 10 min on Friday.
  EXPECT_EQ(ViewOf(Metric::kFirstResponse).deadline, Local(kStockholm, 2026, 1, 9, 10, 10));

  auto office = std::make_shared<const calendar::BusinessCalendar>(OfficeHours(kStockholm));
  catalog_.AddCalendar("office", calendar::BusinessCalendar::AlwaysOpen());
  sla_.pending_replans = {Replan{.replan_id = 1,
                                 .calendar_id = "office",
                                 .old_calendar = office,
                                 .version = 2,
                                 .change_time = change}};
  EXPECT_TRUE(FireAt(created + absl::Minutes(95)).empty());
  EXPECT_EQ(sla_.replanned_through, 1);
  // 6 h 40 min of 24x7 time from 11:30: 18:10 the same day.
  EXPECT_EQ(ViewOf(Metric::kFirstResponse).deadline, created + absl::Minutes(90 + 400));
  EXPECT_EQ(Actions(Metric::kFirstResponse).back(), v1::LEDGER_ACTION_REPLANNED);
  EXPECT_TRUE(VerifyLedger(sla_.ledger).ok());
}

// A warning or breach due before the change fires as the old plan had it.
TEST_F(SlaEngineTest, CalendarChangeFiresWhatWasDueBeforeItFirst) {
  catalog_.AddPolicy(
      MakePolicy("p", Priority::kUnspecified, absl::Hours(1), absl::ZeroDuration(), "24x7"));
  Apply(Created(kT0));
  auto always =
      std::make_shared<const calendar::BusinessCalendar>(calendar::BusinessCalendar::AlwaysOpen());
  catalog_.AddCalendar("24x7", OfficeHours("America/New_York"));  // closed until 14:00 UTC
  sla_.pending_replans = {Replan{.replan_id = 1,
                                 .calendar_id = "24x7",
                                 .old_calendar = always,
                                 .version = 2,
                                 .change_time = kT0 + absl::Minutes(50)}};
  const std::vector<SlaSignal> s = FireAt(kT0 + absl::Minutes(55));
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].kind, Kind::kWarning);
  EXPECT_EQ(s[0].time, kT0 + absl::Minutes(48));
  EXPECT_THAT(Actions(Metric::kFirstResponse),
              ::testing::ElementsAre(v1::LEDGER_ACTION_STARTED, v1::LEDGER_ACTION_WARNED,
                                     v1::LEDGER_ACTION_REPLANNED));
  // 50 min counted; the last 10 once New York opens at 09:00 (14:00 UTC).
  EXPECT_EQ(ViewOf(Metric::kFirstResponse).deadline, Local("America/New_York", 2026, 1, 1, 9, 10));
}

// UpdatePolicy: running clocks take the new targets keeping their elapsed time; one already
// past its new target is breached at the change.
TEST_F(SlaEngineTest, PolicyChangeRetargetsRunningClocks) {
  catalog_.AddPolicy(MakePolicy("p", Priority::kUnspecified, absl::Hours(8), absl::Hours(24)));
  Apply(Created(kT0));
  catalog_.policies()[0].first_response = absl::Hours(2);
  catalog_.policies()[0].resolution = absl::Minutes(30);
  catalog_.policies()[0].version = 2;
  sla_.pending_replans = {
      Replan{.replan_id = 3, .policy_id = "p", .version = 2, .change_time = kT0 + absl::Hours(1)}};
  const std::vector<SlaSignal> s = FireAt(kT0 + absl::Hours(1));
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].kind, Kind::kBreached);
  EXPECT_EQ(s[0].metric, Metric::kResolution);
  EXPECT_EQ(s[0].time, kT0 + absl::Hours(1));
  const ClockView fr = ViewOf(Metric::kFirstResponse);
  EXPECT_EQ(fr.target, absl::Hours(2));
  EXPECT_EQ(fr.deadline, kT0 + absl::Hours(2));
  EXPECT_THAT(Actions(Metric::kFirstResponse),
              ::testing::ElementsAre(v1::LEDGER_ACTION_STARTED, v1::LEDGER_ACTION_RETARGETED));
  EXPECT_EQ(sla_.ledger[2].cause_setting(), "policies/p@2");
}

// TicketAssigned / TicketUnassigned keep the assignee (AGENT keys' scope) and consume the
// sequence.
TEST_F(SlaEngineTest, AssignmentsAreKept) {
  catalog_.AddPolicy(MakePolicy("p", Priority::kUnspecified, absl::Hours(8), absl::Hours(24)));
  Apply(Created(kT0));
  TicketEvent assigned = Event(TicketEvent::Kind::kAssigned, kT0 + absl::Minutes(1));
  assigned.ticket.assignee_id = "agent-7";
  EXPECT_TRUE(Apply(assigned).empty());
  EXPECT_EQ(sla_.ticket.assignee_id, "agent-7");
  EXPECT_EQ(sla_.last_sequence, assigned.sequence);
  TicketEvent unassigned = Event(TicketEvent::Kind::kAssigned, kT0 + absl::Minutes(2));
  Apply(unassigned);
  EXPECT_EQ(sla_.ticket.assignee_id, "");
}

TEST(MatchPolicyTest, MostSpecificWinsThenOldest) {
  std::vector<Policy> policies = {
      Policy{.policy_id = "any", .create_time = absl::FromUnixSeconds(1)},
      Policy{.policy_id = "high",
             .priority = Priority::kHigh,
             .create_time = absl::FromUnixSeconds(2)},
      Policy{.policy_id = "high-email-vip",
             .priority = Priority::kHigh,
             .channel = Channel::kEmail,
             .tag = "vip",
             .create_time = absl::FromUnixSeconds(3)},
      Policy{.policy_id = "vip-old", .tag = "vip", .create_time = absl::FromUnixSeconds(4)},
      Policy{.policy_id = "email-new",
             .channel = Channel::kEmail,
             .create_time = absl::FromUnixSeconds(5)},
  };
  TicketFacts t{.priority = Priority::kHigh, .channel = Channel::kEmail, .tags = {"vip"}};
  EXPECT_EQ(MatchPolicy(policies, t)->policy_id, "high-email-vip");
  t.priority = Priority::kLow;
  EXPECT_EQ(MatchPolicy(policies, t)->policy_id, "vip-old");  // one field each; oldest wins
  t.tags.clear();
  EXPECT_EQ(MatchPolicy(policies, t)->policy_id, "email-new");
  t.channel = Channel::kChat;
  EXPECT_EQ(MatchPolicy(policies, t)->policy_id, "any");
  policies.erase(policies.begin());
  EXPECT_EQ(MatchPolicy(policies, t), nullptr);
}

}  // namespace
}  // namespace sundesk::sla
