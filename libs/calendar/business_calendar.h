#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"

namespace sundesk::calendar {

// Weekly open hours as a client states them: ISO weekday (1 = Monday ... 7 = Sunday) on which
// the interval starts, local "HH:MM" start and end. An `end` earlier than `start` crosses
// midnight into the next day; `end` equal to `start` means 24 hours.
struct WeeklyHoursSpec {
  int weekday = 0;
  std::string start;
  std::string end;
};

// A closure on a local date "YYYY-MM-DD". Empty `start` and `end` close the whole day; only
// `start` closes from then to the end of the day; only `end` closes from midnight until then.
struct HolidaySpec {
  std::string date;
  std::string start;
  std::string end;
  std::string name;  // a label ("Midsommarafton"); not used by the arithmetic
};

// What a calendar is made of, unvalidated (as read from a request or a row).
struct CalendarSpec {
  std::string time_zone;
  bool always_open = false;
  std::vector<WeeklyHoursSpec> hours;
  std::vector<HolidaySpec> holidays;
};

// A half-open span of instants [start, end).
struct OpenInterval {
  absl::Time start;
  absl::Time end;
  friend bool operator==(const OpenInterval&, const OpenInterval&) = default;
};

// When a tenant's SLA clocks run: 24x7, or weekly hours minus holidays in an IANA zone.
//
// Local times become instants by one rule: a local time stands for the first instant at
// which the zone's clocks show it or a later time. So a local time skipped by a spring-forward
// change (02:30 in Stockholm on the last Sunday of March) means the change itself (03:00
// CEST), and a local time repeated by a fall-back change means its first occurrence. An hour
// skipped by DST is therefore never open, and a repeated hour inside an open interval is
// open twice (the desk really is open two hours).
//
// Immutable and thread-safe. All arithmetic walks open intervals day by day; nothing polls.
class BusinessCalendar {
 public:
  // Validates `spec`; errors are INVALID_ARGUMENT naming the field as
  // `<field_prefix>time_zone`, `<field_prefix>hours[2].end`, `<field_prefix>holidays[0].date`.
  static absl::StatusOr<BusinessCalendar> Create(const CalendarSpec& spec,
                                                 absl::string_view field_prefix = "");
  static BusinessCalendar AlwaysOpen();

  bool always_open() const { return always_open_; }
  const absl::TimeZone& time_zone() const { return zone_; }

  // Open time in [from, to); zero when `to` <= `from`.
  absl::Duration OpenTimeBetween(absl::Time from, absl::Time to) const;

  // The instant at which `open_time` of open time has elapsed since `start` (the deadline of a
  // target of `open_time` started at `start`). Exactly at the end of an open interval when the
  // budget runs out there, never at the next opening. `start` when `open_time` <= 0.
  // absl::InfiniteFuture() if the calendar never accumulates that much (it is closed for
  // good within the search horizon of ~40 years).
  absl::Time DeadlineAfter(absl::Time start, absl::Duration open_time) const;

  // The first instant >= `t` at which the calendar is open (`t` itself when open);
  // absl::InfiniteFuture() when it never opens again within the search horizon.
  absl::Time NextOpening(absl::Time t) const;

  bool IsOpen(absl::Time t) const;

  // The open intervals intersecting [from, to), merged and clipped to [from, to).
  std::vector<OpenInterval> OpenIntervals(absl::Time from, absl::Time to) const;

 private:
  // Minutes since local midnight; an interval is [start, start + length) with length in
  // (0, 1440].
  struct DailyInterval {
    int start_minute;
    int length_minutes;
  };
  struct Closure {
    absl::CivilDay date;
    int start_minute;  // inclusive
    int end_minute;    // exclusive, up to 1440
  };

  BusinessCalendar() = default;

  // Instant of local `day` + `minute` minutes under the first-instant rule above.
  absl::Time LocalToInstant(absl::CivilDay day, int minute) const;

  bool always_open_ = true;
  absl::TimeZone zone_ = absl::UTCTimeZone();
  // Indexed by ISO weekday - 1 (Monday = 0).
  std::vector<DailyInterval> weekly_[7];
  // Sorted by date.
  std::vector<Closure> closures_;
};

// Parses "HH:MM" (00:00–23:59) into minutes since midnight.
absl::StatusOr<int> ParseLocalTime(absl::string_view hh_mm);
// Parses "YYYY-MM-DD" (a real calendar date).
absl::StatusOr<absl::CivilDay> ParseDate(absl::string_view yyyy_mm_dd);
// Loads an IANA zone by name ("Europe/Stockholm", "UTC"); rejects names that are not zone names
// (paths, empty, unknown).
absl::StatusOr<absl::TimeZone> LoadZone(absl::string_view name);

}  // namespace sundesk::calendar
