#include "services/sla/store/sla_proto.h"

#include "absl/strings/str_cat.h"
#include "libs/core/status.h"

namespace sundesk::sla {

void SetTimestamp(absl::Time t, google::protobuf::Timestamp* out) {
  const int64_t seconds = absl::ToUnixSeconds(t);
  out->set_seconds(seconds);
  out->set_nanos(static_cast<int32_t>((t - absl::FromUnixSeconds(seconds)) / absl::Nanoseconds(1)));
}

void SetDuration(absl::Duration d, google::protobuf::Duration* out) {
  const int64_t seconds = absl::IDivDuration(d, absl::Seconds(1), &d);
  out->set_seconds(seconds);
  out->set_nanos(static_cast<int32_t>(d / absl::Nanoseconds(1)));
}

absl::StatusOr<absl::Duration> FromDuration(absl::string_view field,
                                            const google::protobuf::Duration& d) {
  // google.protobuf.Duration: ±10,000 years; nanos in (-1e9, 1e9) with the sign of seconds.
  if (d.seconds() < -315'576'000'000 || d.seconds() > 315'576'000'000 ||
      d.nanos() <= -1'000'000'000 || d.nanos() >= 1'000'000'000 ||
      (d.seconds() > 0 && d.nanos() < 0) || (d.seconds() < 0 && d.nanos() > 0)) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": not a valid duration"));
  }
  return absl::Seconds(d.seconds()) + absl::Nanoseconds(d.nanos());
}

void ToProto(const Calendar& c, v1::Calendar* out) {
  out->set_calendar_id(c.calendar_id);
  out->set_tenant_id(c.tenant_id);
  out->set_display_name(c.display_name);
  out->set_time_zone(c.spec.time_zone);
  out->set_always_open(c.spec.always_open);
  for (const calendar::WeeklyHoursSpec& h : c.spec.hours) {
    auto* p = out->add_hours();
    p->set_weekday(h.weekday);
    p->set_start(h.start);
    p->set_end(h.end);
  }
  for (const calendar::HolidaySpec& h : c.spec.holidays) {
    auto* p = out->add_holidays();
    p->set_date(h.date);
    p->set_start(h.start);
    p->set_end(h.end);
    p->set_name(h.name);
  }
  if (c.version > 0) {
    out->set_etag(CalendarEtag(c));
    SetTimestamp(c.create_time, out->mutable_create_time());
    SetTimestamp(c.update_time, out->mutable_update_time());
  }
}

Calendar FromProto(const v1::Calendar& p) {
  Calendar c;
  c.calendar_id = p.calendar_id();
  c.tenant_id = p.tenant_id();
  c.display_name = p.display_name();
  c.spec.time_zone = p.time_zone();
  c.spec.always_open = p.always_open();
  for (const auto& h : p.hours()) c.spec.hours.push_back({h.weekday(), h.start(), h.end()});
  for (const auto& h : p.holidays()) {
    c.spec.holidays.push_back(
        {.date = h.date(), .start = h.start(), .end = h.end(), .name = h.name()});
  }
  return c;
}

void ToProto(const Policy& p, v1::Policy* out) {
  out->set_policy_id(p.policy_id);
  out->set_tenant_id(p.tenant_id);
  out->set_display_name(p.display_name);
  out->set_priority(static_cast<common::v1::Priority>(p.priority));
  out->set_channel(static_cast<common::v1::Channel>(p.channel));
  out->set_tag(p.tag);
  if (p.first_response > absl::ZeroDuration())
    SetDuration(p.first_response, out->mutable_first_response());
  if (p.next_response > absl::ZeroDuration())
    SetDuration(p.next_response, out->mutable_next_response());
  if (p.periodic_update > absl::ZeroDuration())
    SetDuration(p.periodic_update, out->mutable_periodic_update());
  if (p.resolution > absl::ZeroDuration()) SetDuration(p.resolution, out->mutable_resolution());
  out->set_calendar_id(p.calendar_id);
  out->set_warn_at_percent(p.warn_at_percent);
  if (p.version > 0) {
    out->set_etag(PolicyEtag(p));
    SetTimestamp(p.create_time, out->mutable_create_time());
    SetTimestamp(p.update_time, out->mutable_update_time());
  }
}

absl::StatusOr<Policy> FromProto(const v1::Policy& p) {
  Policy out;
  out.policy_id = p.policy_id();
  out.tenant_id = p.tenant_id();
  out.display_name = p.display_name();
  out.priority = static_cast<Priority>(p.priority());  // ValidatePolicy rejects unknowns
  out.channel = static_cast<Channel>(p.channel());
  out.tag = p.tag();
  SUNDESK_ASSIGN_OR_RETURN(out.first_response,
                           FromDuration("policy.first_response", p.first_response()));
  SUNDESK_ASSIGN_OR_RETURN(out.next_response,
                           FromDuration("policy.next_response", p.next_response()));
  SUNDESK_ASSIGN_OR_RETURN(out.periodic_update,
                           FromDuration("policy.periodic_update", p.periodic_update()));
  SUNDESK_ASSIGN_OR_RETURN(out.resolution, FromDuration("policy.resolution", p.resolution()));
  out.calendar_id = p.calendar_id();
  out.warn_at_percent = p.warn_at_percent();
  return out;
}

}  // namespace sundesk::sla
