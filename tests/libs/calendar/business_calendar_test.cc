#include "libs/calendar/business_calendar.h"

#include <random>
#include <string>

#include "absl/strings/str_format.h"
#include "absl/time/civil_time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sundesk::calendar {
namespace {

using ::testing::HasSubstr;

absl::TimeZone Zone(const std::string& name) {
  absl::TimeZone tz;
  EXPECT_TRUE(absl::LoadTimeZone(name, &tz)) << name;
  return tz;
}

// A local time that exists exactly once in `zone`.
absl::Time Local(const std::string& zone, int y, int mo, int d, int h, int mi, int s = 0) {
  const absl::TimeZone::TimeInfo info = Zone(zone).At(absl::CivilSecond(y, mo, d, h, mi, s));
  EXPECT_EQ(info.kind, absl::TimeZone::TimeInfo::UNIQUE);
  return info.pre;
}

absl::Time Utc(int y, int mo, int d, int h, int mi, int s = 0) {
  return absl::FromCivil(absl::CivilSecond(y, mo, d, h, mi, s), absl::UTCTimeZone());
}

CalendarSpec OfficeHours(const std::string& zone, std::string start = "09:00",
                         std::string end = "17:00") {
  CalendarSpec spec{.time_zone = zone};
  for (int wd = 1; wd <= 5; ++wd) spec.hours.push_back({wd, start, end});
  return spec;
}

BusinessCalendar Make(const CalendarSpec& spec) {
  auto cal = BusinessCalendar::Create(spec, "calendar.");
  EXPECT_TRUE(cal.ok()) << cal.status();
  return cal.ok() ? *cal : BusinessCalendar::AlwaysOpen();
}

absl::Status CreateError(const CalendarSpec& spec) {
  return BusinessCalendar::Create(spec, "calendar.").status();
}

constexpr char kStockholm[] = "Europe/Stockholm";
constexpr char kNewYork[] = "America/New_York";

// --- weekends, boundaries, outside hours ---------------------------------------------------

TEST(BusinessCalendarTest, DeadlineCrossesTheWeekend) {
  const BusinessCalendar cal = Make(OfficeHours(kStockholm));
  const absl::Time friday_1600 = Local(kStockholm, 2026, 1, 9, 16, 0);
  EXPECT_EQ(cal.DeadlineAfter(friday_1600, absl::Hours(2)), Local(kStockholm, 2026, 1, 12, 10, 0));
  EXPECT_EQ(cal.OpenTimeBetween(friday_1600, Local(kStockholm, 2026, 1, 12, 10, 0)),
            absl::Hours(2));
  // A whole week of office hours is 40 hours.
  EXPECT_EQ(cal.OpenTimeBetween(friday_1600, friday_1600 + absl::Hours(24 * 7)), absl::Hours(40));
}

TEST(BusinessCalendarTest, StartOutsideOpenHoursCountsFromTheOpening) {
  const BusinessCalendar cal = Make(OfficeHours(kStockholm));
  const absl::Time saturday_noon = Local(kStockholm, 2026, 1, 10, 12, 0);
  EXPECT_FALSE(cal.IsOpen(saturday_noon));
  EXPECT_EQ(cal.NextOpening(saturday_noon), Local(kStockholm, 2026, 1, 12, 9, 0));
  EXPECT_EQ(cal.DeadlineAfter(saturday_noon, absl::Hours(1)),
            Local(kStockholm, 2026, 1, 12, 10, 0));
  EXPECT_EQ(cal.OpenTimeBetween(saturday_noon, Local(kStockholm, 2026, 1, 12, 9, 0)),
            absl::ZeroDuration());
  // Before opening on a weekday.
  const absl::Time monday_0700 = Local(kStockholm, 2026, 1, 12, 7, 0);
  EXPECT_EQ(cal.DeadlineAfter(monday_0700, absl::Minutes(30)),
            Local(kStockholm, 2026, 1, 12, 9, 30));
}

TEST(BusinessCalendarTest, ExactBoundaries) {
  const BusinessCalendar cal = Make(OfficeHours(kStockholm));
  const absl::Time open = Local(kStockholm, 2026, 1, 12, 9, 0);
  const absl::Time close = Local(kStockholm, 2026, 1, 12, 17, 0);
  EXPECT_TRUE(cal.IsOpen(open));
  EXPECT_FALSE(cal.IsOpen(open - absl::Seconds(1)));
  EXPECT_TRUE(cal.IsOpen(close - absl::Seconds(1)));
  EXPECT_FALSE(cal.IsOpen(close));  // intervals are half-open
  EXPECT_EQ(cal.NextOpening(open), open);
  EXPECT_EQ(cal.NextOpening(close), Local(kStockholm, 2026, 1, 13, 9, 0));
  // A budget that runs out exactly at closing time is due at closing, not at the next opening.
  EXPECT_EQ(cal.DeadlineAfter(open, absl::Hours(8)), close);
  EXPECT_EQ(cal.DeadlineAfter(close - absl::Seconds(1), absl::Seconds(1)), close);
  EXPECT_EQ(cal.DeadlineAfter(close - absl::Seconds(1), absl::Seconds(2)),
            Local(kStockholm, 2026, 1, 13, 9, 0, 1));
  // Starting exactly at closing counts nothing until the next opening.
  EXPECT_EQ(cal.DeadlineAfter(close, absl::Seconds(1)), Local(kStockholm, 2026, 1, 13, 9, 0, 1));
  EXPECT_EQ(cal.OpenTimeBetween(open, close), absl::Hours(8));
  EXPECT_EQ(cal.OpenTimeBetween(open - absl::Hours(1), close + absl::Hours(1)), absl::Hours(8));
}

TEST(BusinessCalendarTest, ZeroAndNegativeSpans) {
  const BusinessCalendar cal = Make(OfficeHours(kStockholm));
  const absl::Time t = Local(kStockholm, 2026, 1, 10, 12, 0);  // Saturday, closed
  EXPECT_EQ(cal.DeadlineAfter(t, absl::ZeroDuration()), t);
  EXPECT_EQ(cal.OpenTimeBetween(t + absl::Hours(60), t), absl::ZeroDuration());
  EXPECT_TRUE(cal.OpenIntervals(t, t).empty());
}

TEST(BusinessCalendarTest, AlwaysOpenIsWallClockTime) {
  CalendarSpec spec{.always_open = true};
  const BusinessCalendar cal = Make(spec);
  const absl::Time t = Utc(2026, 3, 29, 0, 30);
  EXPECT_TRUE(cal.IsOpen(t));
  EXPECT_EQ(cal.DeadlineAfter(t, absl::Hours(4)), t + absl::Hours(4));
  EXPECT_EQ(cal.OpenTimeBetween(t, t + absl::Hours(49)), absl::Hours(49));
  EXPECT_EQ(cal.NextOpening(t), t);
  // always_open ignores hours and holidays, even invalid ones.
  spec.time_zone = kStockholm;
  spec.hours.push_back({9, "x", "y"});
  EXPECT_TRUE(BusinessCalendar::Create(spec).ok());
}

TEST(BusinessCalendarTest, SeveralIntervalsADay) {
  CalendarSpec spec{.time_zone = kStockholm};
  for (int wd = 1; wd <= 5; ++wd) {
    spec.hours.push_back({wd, "08:00", "12:00"});
    spec.hours.push_back({wd, "13:00", "17:00"});
  }
  const BusinessCalendar cal = Make(spec);
  const absl::Time monday_1100 = Local(kStockholm, 2026, 1, 12, 11, 0);
  EXPECT_EQ(cal.DeadlineAfter(monday_1100, absl::Hours(2)), Local(kStockholm, 2026, 1, 12, 14, 0));
  EXPECT_FALSE(cal.IsOpen(Local(kStockholm, 2026, 1, 12, 12, 30)));
  EXPECT_EQ(cal.NextOpening(Local(kStockholm, 2026, 1, 12, 12, 30)),
            Local(kStockholm, 2026, 1, 12, 13, 0));
  EXPECT_EQ(cal.OpenTimeBetween(Local(kStockholm, 2026, 1, 12, 0, 0),
                                Local(kStockholm, 2026, 1, 13, 0, 0)),
            absl::Hours(8));
}

TEST(BusinessCalendarTest, AdjacentIntervalsMerge) {
  CalendarSpec spec{.time_zone = kStockholm};
  spec.hours.push_back({1, "09:00", "12:00"});
  spec.hours.push_back({1, "12:00", "17:00"});
  const BusinessCalendar cal = Make(spec);
  const auto open =
      cal.OpenIntervals(Local(kStockholm, 2026, 1, 12, 0, 0), Local(kStockholm, 2026, 1, 13, 0, 0));
  ASSERT_EQ(open.size(), 1u);
  EXPECT_EQ(open[0], (OpenInterval{Local(kStockholm, 2026, 1, 12, 9, 0),
                                   Local(kStockholm, 2026, 1, 12, 17, 0)}));
  EXPECT_EQ(cal.DeadlineAfter(Local(kStockholm, 2026, 1, 12, 11, 0), absl::Hours(2)),
            Local(kStockholm, 2026, 1, 12, 13, 0));
}

// --- intervals crossing midnight -----------------------------------------------------------

TEST(BusinessCalendarTest, NightShiftCrossesMidnight) {
  // Monday to Friday nights 22:00-06:00: Friday's shift ends Saturday 06:00.
  const BusinessCalendar cal = Make(OfficeHours(kStockholm, "22:00", "06:00"));
  const absl::Time monday_2300 = Local(kStockholm, 2026, 1, 12, 23, 0);
  EXPECT_TRUE(cal.IsOpen(Local(kStockholm, 2026, 1, 13, 3, 0)));
  EXPECT_FALSE(cal.IsOpen(Local(kStockholm, 2026, 1, 13, 12, 0)));
  EXPECT_EQ(cal.DeadlineAfter(monday_2300, absl::Hours(8)), Local(kStockholm, 2026, 1, 13, 23, 0));
  // Friday 23:00 + 8 h: 7 h until Saturday 06:00, then closed until Monday 22:00.
  EXPECT_EQ(cal.DeadlineAfter(Local(kStockholm, 2026, 1, 16, 23, 0), absl::Hours(8)),
            Local(kStockholm, 2026, 1, 19, 23, 0));
  // Sunday early morning belongs to no shift (Saturday has none).
  EXPECT_FALSE(cal.IsOpen(Local(kStockholm, 2026, 1, 18, 2, 0)));
  // Monday 01:00 is still closed: Sunday has no shift either.
  EXPECT_FALSE(cal.IsOpen(Local(kStockholm, 2026, 1, 19, 1, 0)));
}

TEST(BusinessCalendarTest, SundayNightCrossesIntoMonday) {
  CalendarSpec spec{.time_zone = kStockholm};
  spec.hours.push_back({7, "20:00", "02:00"});
  const BusinessCalendar cal = Make(spec);
  EXPECT_TRUE(cal.IsOpen(Local(kStockholm, 2026, 1, 12, 1, 59)));  // Monday
  EXPECT_FALSE(cal.IsOpen(Local(kStockholm, 2026, 1, 12, 2, 0)));
  EXPECT_EQ(cal.DeadlineAfter(Local(kStockholm, 2026, 1, 12, 1, 0), absl::Hours(2)),
            Local(kStockholm, 2026, 1, 18, 21, 0));
}

TEST(BusinessCalendarTest, EqualStartAndEndIsTwentyFourHours) {
  CalendarSpec spec{.time_zone = kStockholm};
  spec.hours.push_back({2, "06:00", "06:00"});  // Tuesday 06:00 to Wednesday 06:00
  const BusinessCalendar cal = Make(spec);
  EXPECT_EQ(cal.OpenTimeBetween(Local(kStockholm, 2026, 1, 12, 0, 0),
                                Local(kStockholm, 2026, 1, 19, 0, 0)),
            absl::Hours(24));
  EXPECT_TRUE(cal.IsOpen(Local(kStockholm, 2026, 1, 14, 5, 59)));
}

// --- holidays ------------------------------------------------------------------------------

TEST(BusinessCalendarTest, WholeDayHolidayIsSkipped) {
  CalendarSpec spec = OfficeHours(kStockholm);
  spec.holidays.push_back({"2026-06-19", "", ""});  // Midsommarafton, a Friday
  const BusinessCalendar cal = Make(spec);
  const absl::Time thursday_1600 = Local(kStockholm, 2026, 6, 18, 16, 0);
  EXPECT_EQ(cal.DeadlineAfter(thursday_1600, absl::Hours(2)),
            Local(kStockholm, 2026, 6, 22, 10, 0));
  EXPECT_FALSE(cal.IsOpen(Local(kStockholm, 2026, 6, 19, 12, 0)));
  EXPECT_EQ(cal.NextOpening(Local(kStockholm, 2026, 6, 18, 17, 0)),
            Local(kStockholm, 2026, 6, 22, 9, 0));
}

TEST(BusinessCalendarTest, PartialHolidays) {
  CalendarSpec spec = OfficeHours(kStockholm);
  spec.holidays.push_back({"2026-12-24", "12:00", ""});  // closes from noon
  spec.holidays.push_back({"2026-12-28", "", "11:00"});  // opens at 11:00
  spec.holidays.push_back({"2026-12-29", "12:00", "13:00"});
  const BusinessCalendar cal = Make(spec);
  EXPECT_EQ(cal.DeadlineAfter(Local(kStockholm, 2026, 12, 24, 11, 0), absl::Hours(2)),
            Local(kStockholm, 2026, 12, 25, 10, 0));
  EXPECT_EQ(cal.NextOpening(Local(kStockholm, 2026, 12, 28, 8, 0)),
            Local(kStockholm, 2026, 12, 28, 11, 0));
  EXPECT_EQ(cal.OpenTimeBetween(Local(kStockholm, 2026, 12, 29, 0, 0),
                                Local(kStockholm, 2026, 12, 30, 0, 0)),
            absl::Hours(7));
  EXPECT_EQ(cal.DeadlineAfter(Local(kStockholm, 2026, 12, 29, 11, 30), absl::Hours(1)),
            Local(kStockholm, 2026, 12, 29, 13, 30));
}

TEST(BusinessCalendarTest, HolidayCutsANightShiftAtMidnight) {
  CalendarSpec spec = OfficeHours(kStockholm, "22:00", "06:00");
  spec.holidays.push_back({"2026-01-13", "", ""});  // Tuesday
  const BusinessCalendar cal = Make(spec);
  // Monday's shift runs 22:00-24:00 only; Tuesday's shift keeps only its part on Wednesday
  // (00:00-06:00), then Wednesday's begins at 22:00.
  EXPECT_EQ(cal.OpenTimeBetween(Local(kStockholm, 2026, 1, 12, 0, 0),
                                Local(kStockholm, 2026, 1, 14, 23, 0)),
            absl::Hours(2 + 6 + 1));
  EXPECT_EQ(cal.DeadlineAfter(Local(kStockholm, 2026, 1, 12, 23, 0), absl::Hours(2)),
            Local(kStockholm, 2026, 1, 14, 1, 0));
}

TEST(BusinessCalendarTest, LongHolidayStretch) {
  CalendarSpec spec = OfficeHours(kStockholm);
  for (int d = 1; d <= 31; ++d)
    spec.holidays.push_back({absl::FormatCivilTime(absl::CivilDay(2026, 7, d)), "", ""});
  const BusinessCalendar cal = Make(spec);
  EXPECT_EQ(cal.NextOpening(Local(kStockholm, 2026, 6, 30, 17, 0)),
            Local(kStockholm, 2026, 8, 3, 9, 0));
  EXPECT_EQ(cal.DeadlineAfter(Local(kStockholm, 2026, 6, 30, 16, 0), absl::Hours(2)),
            Local(kStockholm, 2026, 8, 3, 10, 0));
}

// --- DST: Europe/Stockholm (CET/CEST, changes at 01:00 UTC) ----------------------------------

TEST(BusinessCalendarTest, StockholmSpringForwardDayHas23Hours) {
  CalendarSpec spec{.time_zone = kStockholm};
  for (int wd = 1; wd <= 7; ++wd) spec.hours.push_back({wd, "00:00", "00:00"});
  const BusinessCalendar cal = Make(spec);
  EXPECT_EQ(cal.OpenTimeBetween(Local(kStockholm, 2026, 3, 29, 0, 0),
                                Local(kStockholm, 2026, 3, 30, 0, 0)),
            absl::Hours(23));
  // Saturday noon CET + 24 h of open time: Sunday 13:00 CEST.
  EXPECT_EQ(cal.DeadlineAfter(Local(kStockholm, 2026, 3, 28, 12, 0), absl::Hours(24)),
            Local(kStockholm, 2026, 3, 29, 13, 0));
}

TEST(BusinessCalendarTest, StockholmSpringForwardSkippedLocalTime) {
  CalendarSpec spec{.time_zone = kStockholm};
  spec.hours.push_back({7, "01:00", "04:00"});
  spec.hours.push_back({6, "02:30", "03:30"});  // Saturday: no DST change that night
  const BusinessCalendar sunday = Make(spec);
  // 01:00 CET (00:00Z) to 04:00 CEST (02:00Z): the hour 02:00-03:00 does not exist.
  EXPECT_EQ(sunday.OpenTimeBetween(Utc(2026, 3, 28, 12, 0), Utc(2026, 3, 30, 0, 0)),
            absl::Hours(2));
  EXPECT_EQ(sunday.DeadlineAfter(Utc(2026, 3, 28, 12, 0), absl::Minutes(90)),
            Utc(2026, 3, 29, 1, 30));

  CalendarSpec skipped{.time_zone = kStockholm};
  skipped.hours.push_back({7, "02:30", "03:30"});
  const BusinessCalendar cal = Make(skipped);
  // 02:30 does not exist on 2026-03-29: the desk opens at the change (03:00 CEST = 01:00Z).
  EXPECT_EQ(cal.NextOpening(Utc(2026, 3, 28, 12, 0)), Utc(2026, 3, 29, 1, 0));
  EXPECT_EQ(cal.OpenTimeBetween(Utc(2026, 3, 28, 12, 0), Utc(2026, 3, 30, 0, 0)),
            absl::Minutes(30));
  // The next Sunday has the full hour.
  EXPECT_EQ(cal.OpenTimeBetween(Utc(2026, 4, 4, 12, 0), Utc(2026, 4, 6, 0, 0)), absl::Hours(1));
}

TEST(BusinessCalendarTest, StockholmFallBackRepeatedHour) {
  CalendarSpec spec{.time_zone = kStockholm};
  spec.hours.push_back({7, "01:00", "04:00"});
  const BusinessCalendar cal = Make(spec);
  // 01:00 CEST (23:00Z Saturday) to 04:00 CET (03:00Z): 02:00-03:00 happens twice.
  EXPECT_EQ(cal.OpenTimeBetween(Utc(2026, 10, 24, 12, 0), Utc(2026, 10, 26, 0, 0)), absl::Hours(4));
  EXPECT_EQ(cal.NextOpening(Utc(2026, 10, 24, 12, 0)), Utc(2026, 10, 24, 23, 0));
  EXPECT_EQ(cal.DeadlineAfter(Utc(2026, 10, 24, 12, 0), absl::Hours(4)), Utc(2026, 10, 25, 3, 0));
  EXPECT_EQ(cal.DeadlineAfter(Utc(2026, 10, 24, 23, 30), absl::Hours(3)), Utc(2026, 10, 25, 2, 30));

  // A repeated local start means its first occurrence: 02:30 CEST = 00:30Z.
  CalendarSpec repeated{.time_zone = kStockholm};
  repeated.hours.push_back({7, "02:30", "03:30"});
  const BusinessCalendar rep = Make(repeated);
  EXPECT_EQ(rep.NextOpening(Utc(2026, 10, 24, 12, 0)), Utc(2026, 10, 25, 0, 30));
  EXPECT_EQ(rep.OpenTimeBetween(Utc(2026, 10, 24, 12, 0), Utc(2026, 10, 26, 0, 0)), absl::Hours(2));
}

TEST(BusinessCalendarTest, StockholmOfficeHoursAcrossBothChanges) {
  const BusinessCalendar cal = Make(OfficeHours(kStockholm));
  // Friday 16:00 CET + 2 h: Monday 10:00 CEST (08:00Z).
  EXPECT_EQ(cal.DeadlineAfter(Local(kStockholm, 2026, 3, 27, 16, 0), absl::Hours(2)),
            Utc(2026, 3, 30, 8, 0));
  // Friday 16:00 CEST + 2 h: Monday 10:00 CET (09:00Z).
  EXPECT_EQ(cal.DeadlineAfter(Local(kStockholm, 2026, 10, 23, 16, 0), absl::Hours(2)),
            Utc(2026, 10, 26, 9, 0));
}

// --- DST: America/New_York (changes at 02:00 local) ------------------------------------------

TEST(BusinessCalendarTest, NewYorkSpringForward) {
  CalendarSpec spec{.time_zone = kNewYork};
  spec.hours.push_back({6, "22:00", "06:00"});
  const BusinessCalendar cal = Make(spec);
  // Saturday 22:00 EST (03:00Z) to Sunday 06:00 EDT (10:00Z) is 7 hours; 02:00-03:00 is skipped.
  EXPECT_EQ(cal.OpenTimeBetween(Utc(2026, 3, 7, 12, 0), Utc(2026, 3, 9, 0, 0)), absl::Hours(7));
  EXPECT_EQ(cal.DeadlineAfter(Local(kNewYork, 2026, 3, 7, 23, 0), absl::Hours(3)),
            Local(kNewYork, 2026, 3, 8, 3, 0));
  EXPECT_EQ(Local(kNewYork, 2026, 3, 8, 3, 0), Utc(2026, 3, 8, 7, 0));
}

TEST(BusinessCalendarTest, NewYorkFallBack) {
  CalendarSpec spec{.time_zone = kNewYork};
  spec.hours.push_back({6, "22:00", "06:00"});
  const BusinessCalendar cal = Make(spec);
  // Saturday 22:00 EDT (02:00Z) to Sunday 06:00 EST (11:00Z): 9 hours, 01:00-02:00 twice.
  EXPECT_EQ(cal.OpenTimeBetween(Utc(2026, 10, 31, 12, 0), Utc(2026, 11, 2, 0, 0)), absl::Hours(9));
  EXPECT_EQ(cal.DeadlineAfter(Local(kNewYork, 2026, 10, 31, 22, 0), absl::Minutes(8 * 60 + 30)),
            Utc(2026, 11, 1, 10, 30));  // 05:30 EST

  CalendarSpec repeated{.time_zone = kNewYork};
  repeated.hours.push_back({7, "01:30", "01:45"});
  const BusinessCalendar rep = Make(repeated);
  // Repeated local times mean their first occurrence: 01:30-01:45 EDT (05:30Z-05:45Z).
  const auto open = rep.OpenIntervals(Utc(2026, 10, 31, 12, 0), Utc(2026, 11, 2, 0, 0));
  ASSERT_EQ(open.size(), 1u);
  EXPECT_EQ(open[0], (OpenInterval{Utc(2026, 11, 1, 5, 30), Utc(2026, 11, 1, 5, 45)}));
}

// --- DeadlineAfter and OpenTimeBetween agree, to the second ---------------------------------

TEST(BusinessCalendarTest, DeadlineIsTheFirstInstantWithTheBudgetElapsed) {
  CalendarSpec stockholm = OfficeHours(kStockholm, "08:30", "12:00");
  for (int wd = 1; wd <= 5; ++wd) stockholm.hours.push_back({wd, "13:00", "17:45"});
  stockholm.hours.push_back({6, "22:00", "02:00"});
  stockholm.holidays.push_back({"2026-04-03", "", ""});
  stockholm.holidays.push_back({"2026-10-26", "10:00", "15:00"});
  CalendarSpec new_york = OfficeHours(kNewYork, "20:00", "04:00");
  new_york.hours.push_back({7, "01:00", "03:00"});
  for (const CalendarSpec& spec : {stockholm, new_york}) {
    const BusinessCalendar cal = Make(spec);
    std::mt19937_64 rng(42);
    for (int i = 0; i < 400; ++i) {
      // Starts spread over both DST changes of 2026, budgets up to a week of open time.
      const absl::Time start =
          Utc(2026, 3, 1, 0, 0) + absl::Seconds(static_cast<int64_t>(rng() % (280LL * 86400)));
      const absl::Duration budget = absl::Seconds(1 + static_cast<int64_t>(rng() % (50 * 3600)));
      const absl::Time deadline = cal.DeadlineAfter(start, budget);
      ASSERT_LT(deadline, absl::InfiniteFuture());
      EXPECT_EQ(cal.OpenTimeBetween(start, deadline), budget) << start << " + " << budget;
      EXPECT_LT(cal.OpenTimeBetween(start, deadline - absl::Seconds(1)), budget);
      EXPECT_TRUE(cal.IsOpen(deadline - absl::Seconds(1)));
    }
  }
}

// --- validation ----------------------------------------------------------------------------

TEST(BusinessCalendarValidationTest, UnknownOrMalformedZone) {
  for (const std::string zone : {"Mars/Olympus_Mons", "/etc/localtime", "../zoneinfo/UTC",
                                 "localtime", "Europe/Stock holm"}) {
    CalendarSpec spec = OfficeHours(zone);
    const absl::Status st = CreateError(spec);
    EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument) << zone;
    EXPECT_THAT(st.message(), HasSubstr("calendar.time_zone")) << zone;
  }
  EXPECT_THAT(CreateError(OfficeHours("")).message(), HasSubstr("calendar.time_zone"));
  EXPECT_TRUE(CreateError(OfficeHours("UTC")).ok());
  EXPECT_TRUE(CreateError(OfficeHours("America/Argentina/Buenos_Aires")).ok());
}

TEST(BusinessCalendarValidationTest, HoursNameTheField) {
  struct Case {
    WeeklyHoursSpec bad;
    std::string field;
  };
  for (const Case& c : std::vector<Case>{{{0, "09:00", "17:00"}, "calendar.hours[5].weekday"},
                                         {{8, "09:00", "17:00"}, "calendar.hours[5].weekday"},
                                         {{6, "9:00", "17:00"}, "calendar.hours[5].start"},
                                         {{6, "24:00", "17:00"}, "calendar.hours[5].start"},
                                         {{6, "09:00", "17:60"}, "calendar.hours[5].end"},
                                         {{6, "09:00", ""}, "calendar.hours[5].end"}}) {
    CalendarSpec spec = OfficeHours(kStockholm);
    spec.hours.push_back(c.bad);
    const absl::Status st = CreateError(spec);
    EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument) << c.field;
    EXPECT_THAT(st.message(), HasSubstr(c.field + ":"));
  }
  CalendarSpec none{.time_zone = kStockholm};
  EXPECT_THAT(CreateError(none).message(), HasSubstr("calendar.hours: required"));
}

TEST(BusinessCalendarValidationTest, OverlappingHours) {
  CalendarSpec spec = OfficeHours(kStockholm);
  spec.hours.push_back({3, "16:00", "18:00"});  // overlaps Wednesday 09-17 (hours[2])
  EXPECT_THAT(CreateError(spec).message(),
              HasSubstr("calendar.hours[5]: overlaps calendar.hours[2]"));

  // Sunday night into Monday overlaps Monday's early interval.
  CalendarSpec wrap{.time_zone = kStockholm};
  wrap.hours.push_back({1, "01:00", "03:00"});
  wrap.hours.push_back({7, "22:00", "02:00"});
  EXPECT_THAT(CreateError(wrap).message(),
              HasSubstr("calendar.hours[1]: overlaps calendar.hours[0]"));

  // Touching intervals do not overlap.
  CalendarSpec touching{.time_zone = kStockholm};
  touching.hours.push_back({1, "09:00", "12:00"});
  touching.hours.push_back({1, "12:00", "09:00"});
  EXPECT_TRUE(CreateError(touching).ok());
  touching.hours.push_back({2, "08:00", "10:00"});  // Monday 12:00 runs to Tuesday 09:00
  EXPECT_THAT(CreateError(touching).message(), HasSubstr("calendar.hours[2]: overlaps"));
}

TEST(BusinessCalendarValidationTest, Holidays) {
  struct Case {
    HolidaySpec bad;
    std::string field;
  };
  for (const Case& c :
       std::vector<Case>{{{"2026-02-30", "", ""}, "calendar.holidays[1].date"},
                         {{"2026-2-3", "", ""}, "calendar.holidays[1].date"},
                         {{"", "", ""}, "calendar.holidays[1].date"},
                         {{"2026-13-01", "", ""}, "calendar.holidays[1].date"},
                         {{"2026-06-19", "25:00", ""}, "calendar.holidays[1].start"},
                         {{"2026-06-19", "", "x"}, "calendar.holidays[1].end"},
                         {{"2026-06-19", "12:00", "11:00"}, "calendar.holidays[1].end"},
                         {{"2026-06-19", "12:00", "12:00"}, "calendar.holidays[1].end"}}) {
    CalendarSpec spec = OfficeHours(kStockholm);
    spec.holidays.push_back({"2026-12-24", "", ""});
    spec.holidays.push_back(c.bad);
    const absl::Status st = CreateError(spec);
    EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument) << c.field;
    EXPECT_THAT(st.message(), HasSubstr(c.field + ":"));
  }
  CalendarSpec leap = OfficeHours(kStockholm);
  leap.holidays.push_back({"2028-02-29", "", ""});
  EXPECT_TRUE(CreateError(leap).ok());
}

TEST(BusinessCalendarValidationTest, Limits) {
  CalendarSpec spec = OfficeHours(kStockholm);
  for (int i = 0; i < 1001; ++i) {
    spec.holidays.push_back({absl::FormatCivilTime(absl::CivilDay(2030, 1, 1) + i), "", ""});
  }
  EXPECT_THAT(CreateError(spec).message(), HasSubstr("calendar.holidays: at most 1000"));
  CalendarSpec many{.time_zone = kStockholm};
  for (int i = 0; i < 65; ++i) {
    many.hours.push_back(
        {1 + i / 10, absl::StrFormat("%02d:00", i % 10), absl::StrFormat("%02d:30", i % 10)});
  }
  EXPECT_THAT(CreateError(many).message(), HasSubstr("calendar.hours: at most 64"));
}

}  // namespace
}  // namespace sundesk::calendar
