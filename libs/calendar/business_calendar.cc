#include "libs/calendar/business_calendar.h"

#include <algorithm>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace sundesk::calendar {
namespace {

constexpr int kMinutesPerDay = 24 * 60;
constexpr int kMinutesPerWeek = 7 * kMinutesPerDay;
constexpr size_t kMaxHours = 64;
constexpr size_t kMaxHolidays = 1000;
// How far DeadlineAfter and NextOpening look before they give up: a validated calendar has
// weekly hours and at most 1000 closed days, so it always opens again well within this.
constexpr absl::Duration kSearchHorizon = absl::Hours(24 * 366 * 40);
// DeadlineAfter and NextOpening walk the calendar in windows of this size.
constexpr absl::Duration kWalkWindow = absl::Hours(24 * 14);

bool AllDigits(absl::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return absl::ascii_isdigit(c); });
}

int ToInt(absl::string_view digits) {
  int v = 0;
  for (char c : digits) v = v * 10 + (c - '0');
  return v;
}

// Sorts and merges touching or overlapping intervals; drops empty ones.
std::vector<OpenInterval> Merge(std::vector<OpenInterval> v) {
  std::sort(v.begin(), v.end(),
            [](const OpenInterval& a, const OpenInterval& b) { return a.start < b.start; });
  std::vector<OpenInterval> out;
  for (const OpenInterval& i : v) {
    if (i.end <= i.start) continue;
    if (!out.empty() && i.start <= out.back().end) {
      out.back().end = std::max(out.back().end, i.end);
    } else {
      out.push_back(i);
    }
  }
  return out;
}

// `open` minus `closed`; both sorted and merged.
std::vector<OpenInterval> Subtract(const std::vector<OpenInterval>& open,
                                   const std::vector<OpenInterval>& closed) {
  std::vector<OpenInterval> out;
  size_t c = 0;
  for (OpenInterval i : open) {
    while (c < closed.size() && closed[c].end <= i.start) ++c;
    size_t k = c;
    while (k < closed.size() && closed[k].start < i.end) {
      if (closed[k].start > i.start) out.push_back({i.start, closed[k].start});
      i.start = std::max(i.start, closed[k].end);
      ++k;
    }
    if (i.start < i.end) out.push_back(i);
  }
  return out;
}

}  // namespace

absl::StatusOr<int> ParseLocalTime(absl::string_view hh_mm) {
  if (hh_mm.size() != 5 || hh_mm[2] != ':' || !AllDigits(hh_mm.substr(0, 2)) ||
      !AllDigits(hh_mm.substr(3, 2))) {
    return absl::InvalidArgumentError(absl::StrCat("\"", hh_mm, "\" is not \"HH:MM\""));
  }
  const int h = ToInt(hh_mm.substr(0, 2));
  const int m = ToInt(hh_mm.substr(3, 2));
  if (h > 23 || m > 59) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", hh_mm, "\" is not a time of day (00:00–23:59)"));
  }
  return h * 60 + m;
}

absl::StatusOr<absl::CivilDay> ParseDate(absl::string_view s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-' || !AllDigits(s.substr(0, 4)) ||
      !AllDigits(s.substr(5, 2)) || !AllDigits(s.substr(8, 2))) {
    return absl::InvalidArgumentError(absl::StrCat("\"", s, "\" is not \"YYYY-MM-DD\""));
  }
  const int y = ToInt(s.substr(0, 4));
  const int m = ToInt(s.substr(5, 2));
  const int d = ToInt(s.substr(8, 2));
  const absl::CivilDay day(y, m, d);  // normalises 2026-02-30 to 2026-03-02
  if (y < 1970 || day.year() != y || day.month() != m || day.day() != d) {
    return absl::InvalidArgumentError(absl::StrCat("\"", s, "\" is not a calendar date"));
  }
  return day;
}

absl::StatusOr<absl::TimeZone> LoadZone(absl::string_view name) {
  // absl would also read a file path or the process's "localtime"; only IANA names are zones
  // here.
  const bool name_like =
      !name.empty() && name.size() <= 64 && name.front() != '/' &&
      name.find("..") == absl::string_view::npos && name != "localtime" &&
      std::all_of(name.begin(), name.end(), [](char c) {
        return absl::ascii_isalnum(c) || c == '/' || c == '_' || c == '-' || c == '+';
      });
  absl::TimeZone zone;
  if (!name_like || !absl::LoadTimeZone(std::string(name), &zone)) {
    return absl::InvalidArgumentError(absl::StrCat("\"", name, "\" is not an IANA time zone"));
  }
  return zone;
}

BusinessCalendar BusinessCalendar::AlwaysOpen() { return BusinessCalendar(); }

absl::StatusOr<BusinessCalendar> BusinessCalendar::Create(const CalendarSpec& spec,
                                                          absl::string_view p) {
  auto invalid = [&](absl::string_view field, absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat(p, field, ": ", why));
  };
  BusinessCalendar cal;
  cal.always_open_ = spec.always_open;
  if (spec.time_zone.empty()) {
    if (!spec.always_open) return invalid("time_zone", "required unless always_open");
  } else {
    auto zone = LoadZone(spec.time_zone);
    if (!zone.ok()) return invalid("time_zone", zone.status().message());
    cal.zone_ = *zone;
  }
  if (spec.always_open) return cal;  // hours and holidays are ignored for 24x7

  if (spec.hours.empty()) return invalid("hours", "required unless always_open");
  if (spec.hours.size() > kMaxHours) {
    return invalid("hours", absl::StrFormat("at most %d intervals", kMaxHours));
  }
  // [start, end) in minutes of the week, for the overlap check; with the index of the interval.
  struct WeekSpan {
    int start;
    int end;
    size_t index;
  };
  std::vector<WeekSpan> spans;
  for (size_t i = 0; i < spec.hours.size(); ++i) {
    const WeeklyHoursSpec& h = spec.hours[i];
    const std::string field = absl::StrCat("hours[", i, "]");
    if (h.weekday < 1 || h.weekday > 7) {
      return invalid(absl::StrCat(field, ".weekday"), "must be 1–7 (ISO, Monday = 1)");
    }
    auto start = ParseLocalTime(h.start);
    if (!start.ok()) return invalid(absl::StrCat(field, ".start"), start.status().message());
    auto end = ParseLocalTime(h.end);
    if (!end.ok()) return invalid(absl::StrCat(field, ".end"), end.status().message());
    int length = *end - *start;
    if (length <= 0) length += kMinutesPerDay;  // crosses midnight; equal means 24 h
    cal.weekly_[h.weekday - 1].push_back({*start, length});
    const int week_start = (h.weekday - 1) * kMinutesPerDay + *start;
    const int week_end = week_start + length;
    if (week_end <= kMinutesPerWeek) {
      spans.push_back({week_start, week_end, i});
    } else {  // Sunday night into Monday morning
      spans.push_back({week_start, kMinutesPerWeek, i});
      spans.push_back({0, week_end - kMinutesPerWeek, i});
    }
  }
  std::sort(spans.begin(), spans.end(), [](const WeekSpan& a, const WeekSpan& b) {
    return a.start != b.start ? a.start < b.start : a.index < b.index;
  });
  for (size_t k = 1; k < spans.size(); ++k) {
    if (spans[k].start < spans[k - 1].end) {
      const size_t a = std::min(spans[k].index, spans[k - 1].index);
      const size_t b = std::max(spans[k].index, spans[k - 1].index);
      return invalid(absl::StrCat("hours[", b, "]"),
                     absl::StrCat("overlaps ", p, "hours[", a, "]"));
    }
  }

  if (spec.holidays.size() > kMaxHolidays) {
    return invalid("holidays", absl::StrFormat("at most %d", kMaxHolidays));
  }
  for (size_t i = 0; i < spec.holidays.size(); ++i) {
    const HolidaySpec& h = spec.holidays[i];
    const std::string field = absl::StrCat("holidays[", i, "]");
    auto date = ParseDate(h.date);
    if (!date.ok()) return invalid(absl::StrCat(field, ".date"), date.status().message());
    Closure c{*date, 0, kMinutesPerDay};
    if (!h.start.empty()) {
      auto start = ParseLocalTime(h.start);
      if (!start.ok()) return invalid(absl::StrCat(field, ".start"), start.status().message());
      c.start_minute = *start;
    }
    if (!h.end.empty()) {
      auto end = ParseLocalTime(h.end);
      if (!end.ok()) return invalid(absl::StrCat(field, ".end"), end.status().message());
      c.end_minute = *end;
    }
    if (c.end_minute <= c.start_minute) {
      return invalid(absl::StrCat(field, ".end"), "must be after start");
    }
    cal.closures_.push_back(c);
  }
  std::sort(cal.closures_.begin(), cal.closures_.end(),
            [](const Closure& a, const Closure& b) { return a.date < b.date; });
  return cal;
}

absl::Time BusinessCalendar::LocalToInstant(absl::CivilDay day, int minute) const {
  const absl::TimeZone::TimeInfo info =
      zone_.At(absl::CivilSecond(absl::CivilMinute(day) + minute));
  switch (info.kind) {
    case absl::TimeZone::TimeInfo::SKIPPED:
      return info.trans;  // the first instant showing a later local time
    case absl::TimeZone::TimeInfo::REPEATED:
    case absl::TimeZone::TimeInfo::UNIQUE:
      return info.pre;  // pre is the earlier instant of a repeated local time
  }
  return info.pre;
}

std::vector<OpenInterval> BusinessCalendar::OpenIntervals(absl::Time from, absl::Time to) const {
  if (to <= from) return {};
  if (always_open_) return {{from, to}};

  // An interval starts on its weekday and lasts at most 24 h, so the day before `from`'s
  // local day may still be open at `from`.
  const absl::CivilDay first_day = absl::ToCivilDay(from, zone_) - 1;
  const absl::CivilDay last_day = absl::ToCivilDay(to, zone_);
  std::vector<OpenInterval> open;
  for (absl::CivilDay day = first_day; day <= last_day; ++day) {
    const int iso_index = static_cast<int>(absl::GetWeekday(day));  // Monday = 0
    for (const DailyInterval& d : weekly_[iso_index]) {
      open.push_back({LocalToInstant(day, d.start_minute),
                      LocalToInstant(day, d.start_minute + d.length_minutes)});
    }
  }
  open = Merge(std::move(open));

  std::vector<OpenInterval> closed;
  auto it = std::lower_bound(closures_.begin(), closures_.end(), first_day,
                             [](const Closure& c, absl::CivilDay d) { return c.date < d; });
  for (; it != closures_.end() && it->date <= last_day + 1; ++it) {
    closed.push_back(
        {LocalToInstant(it->date, it->start_minute), LocalToInstant(it->date, it->end_minute)});
  }
  open = Subtract(open, Merge(std::move(closed)));

  std::vector<OpenInterval> out;
  for (OpenInterval i : open) {
    i.start = std::max(i.start, from);
    i.end = std::min(i.end, to);
    if (i.start < i.end) out.push_back(i);
  }
  return out;
}

absl::Duration BusinessCalendar::OpenTimeBetween(absl::Time from, absl::Time to) const {
  absl::Duration total = absl::ZeroDuration();
  for (const OpenInterval& i : OpenIntervals(from, to)) total += i.end - i.start;
  return total;
}

absl::Time BusinessCalendar::DeadlineAfter(absl::Time start, absl::Duration open_time) const {
  if (open_time <= absl::ZeroDuration()) return start;
  if (always_open_) return start + open_time;
  absl::Duration remaining = open_time;
  for (absl::Time cursor = start; cursor < start + kSearchHorizon; cursor += kWalkWindow) {
    for (const OpenInterval& i : OpenIntervals(cursor, cursor + kWalkWindow)) {
      const absl::Duration length = i.end - i.start;
      if (remaining <= length) return i.start + remaining;
      remaining -= length;
    }
  }
  return absl::InfiniteFuture();
}

absl::Time BusinessCalendar::NextOpening(absl::Time t) const {
  if (always_open_) return t;
  for (absl::Time cursor = t; cursor < t + kSearchHorizon; cursor += kWalkWindow) {
    const std::vector<OpenInterval> open = OpenIntervals(cursor, cursor + kWalkWindow);
    if (!open.empty()) return open.front().start;
  }
  return absl::InfiniteFuture();
}

bool BusinessCalendar::IsOpen(absl::Time t) const {
  return !OpenIntervals(t, t + absl::Nanoseconds(1)).empty();
}

}  // namespace sundesk::calendar
