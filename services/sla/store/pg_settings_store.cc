#include "services/sla/store/pg_settings_store.h"

#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "libs/core/status.h"
#include "libs/pg/errors.h"
#include "libs/pg/transaction.h"
#include "services/sla/store/sla_proto.h"

namespace sundesk::sla {

const absl::string_view kCalendarColumns =
    "calendar_id, tenant_id, display_name, time_zone, always_open, body, version, create_time, "
    "update_time";
const absl::string_view kPolicyColumns =
    "policy_id, tenant_id, display_name, priority, channel, tag, first_response_ns, "
    "next_response_ns, periodic_update_ns, resolution_ns, calendar_id, warn_at_percent, version, "
    "create_time, update_time";

namespace {

std::string CalendarBody(const Calendar& c) {
  v1::Calendar body;
  Calendar only_lists;
  only_lists.spec.hours = c.spec.hours;
  only_lists.spec.holidays = c.spec.holidays;
  ToProto(only_lists, &body);
  return body.SerializeAsString();
}

}  // namespace

absl::StatusOr<Calendar> CalendarFromRow(const pg::Result& r, int row) {
  SUNDESK_ASSIGN_OR_RETURN(std::string body_bytes, r.Bytea(row, "body"));
  v1::Calendar body;
  if (!body.ParseFromString(body_bytes)) {
    return absl::DataLossError("sla.calendars.body: not a serialized Calendar");
  }
  Calendar c = FromProto(body);
  c.calendar_id = std::string(r.Text(row, "calendar_id"));
  c.tenant_id = std::string(r.Text(row, "tenant_id"));
  c.display_name = std::string(r.Text(row, "display_name"));
  c.spec.time_zone = std::string(r.Text(row, "time_zone"));
  SUNDESK_ASSIGN_OR_RETURN(c.spec.always_open, r.Bool(row, "always_open"));
  SUNDESK_ASSIGN_OR_RETURN(c.version, r.Int64(row, "version"));
  SUNDESK_ASSIGN_OR_RETURN(c.create_time, r.Time(row, "create_time"));
  SUNDESK_ASSIGN_OR_RETURN(c.update_time, r.Time(row, "update_time"));
  return c;
}

namespace {

absl::StatusOr<absl::Duration> Nanos(const pg::Result& r, int row, absl::string_view column) {
  SUNDESK_ASSIGN_OR_RETURN(int64_t ns, r.Int64(row, column));
  return absl::Nanoseconds(ns);
}

int64_t ToNanos(absl::Duration d) { return absl::ToInt64Nanoseconds(d); }

}  // namespace

absl::StatusOr<Policy> PolicyFromRow(const pg::Result& r, int row) {
  Policy p;
  p.policy_id = std::string(r.Text(row, "policy_id"));
  p.tenant_id = std::string(r.Text(row, "tenant_id"));
  p.display_name = std::string(r.Text(row, "display_name"));
  SUNDESK_ASSIGN_OR_RETURN(int64_t priority, r.Int64(row, "priority"));
  p.priority = static_cast<Priority>(priority);
  SUNDESK_ASSIGN_OR_RETURN(int64_t channel, r.Int64(row, "channel"));
  p.channel = static_cast<Channel>(channel);
  p.tag = std::string(r.Text(row, "tag"));
  SUNDESK_ASSIGN_OR_RETURN(p.first_response, Nanos(r, row, "first_response_ns"));
  SUNDESK_ASSIGN_OR_RETURN(p.next_response, Nanos(r, row, "next_response_ns"));
  SUNDESK_ASSIGN_OR_RETURN(p.periodic_update, Nanos(r, row, "periodic_update_ns"));
  SUNDESK_ASSIGN_OR_RETURN(p.resolution, Nanos(r, row, "resolution_ns"));
  p.calendar_id = std::string(r.Text(row, "calendar_id"));
  SUNDESK_ASSIGN_OR_RETURN(int64_t warn, r.Int64(row, "warn_at_percent"));
  p.warn_at_percent = static_cast<int>(warn);
  SUNDESK_ASSIGN_OR_RETURN(p.version, r.Int64(row, "version"));
  SUNDESK_ASSIGN_OR_RETURN(p.create_time, r.Time(row, "create_time"));
  SUNDESK_ASSIGN_OR_RETURN(p.update_time, r.Time(row, "update_time"));
  return p;
}

namespace {

absl::Status MatchTaken(const Policy& p) {
  return absl::AlreadyExistsError(absl::StrCat(
      "policy: the tenant already has a policy matching priority ", static_cast<int>(p.priority),
      ", channel ", static_cast<int>(p.channel), " and tag '", absl::CHexEscape(p.tag), "'"));
}

}  // namespace

absl::StatusOr<Calendar> PgSettingsStore::CreateCalendar(const Calendar& c,
                                                         absl::string_view request_id) {
  SUNDESK_ASSIGN_OR_RETURN(pg::Lease conn, pool_.Acquire());
  SUNDESK_ASSIGN_OR_RETURN(
      pg::Result r,
      conn->Execute(
          absl::StrCat("INSERT INTO sla.calendars (calendar_id, tenant_id, display_name, "
                       "time_zone, always_open, body, version, request_id, create_time, "
                       "update_time) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) "
                       "ON CONFLICT (tenant_id, request_id) WHERE request_id <> '' "
                       "DO NOTHING RETURNING ",
                       kCalendarColumns),
          {c.calendar_id, c.tenant_id, c.display_name, c.spec.time_zone, c.spec.always_open,
           pg::Param::Bytea(CalendarBody(c)), c.version, request_id, c.create_time}));
  if (r.rows() == 0) {  // a retry: the first request's calendar
    SUNDESK_ASSIGN_OR_RETURN(
        r, conn->Execute(absl::StrCat("SELECT ", kCalendarColumns,
                                      " FROM sla.calendars WHERE tenant_id = $1 AND "
                                      "request_id = $2"),
                         {c.tenant_id, request_id}));
    if (r.rows() == 0) return absl::AbortedError("calendar request raced; retry");
  }
  return CalendarFromRow(r, 0);
}

absl::StatusOr<Calendar> PgSettingsStore::GetCalendar(absl::string_view calendar_id) {
  return ReadCalendar(calendar_id);
}

absl::StatusOr<Calendar> PgSettingsStore::ReadCalendar(absl::string_view calendar_id) const {
  SUNDESK_ASSIGN_OR_RETURN(pg::Lease conn, pool_.Acquire());
  SUNDESK_ASSIGN_OR_RETURN(pg::Result r,
                           conn->Execute(absl::StrCat("SELECT ", kCalendarColumns,
                                                      " FROM sla.calendars WHERE calendar_id = $1"),
                                         {calendar_id}));
  if (r.rows() == 0) return absl::NotFoundError("calendar not found");
  return CalendarFromRow(r, 0);
}

absl::StatusOr<Calendar> PgSettingsStore::UpdateCalendar(const Calendar& c, absl::Time now) {
  absl::StatusOr<Calendar> out;
  SUNDESK_RETURN_IF_ERROR(pg::WithTransaction(pool_, [&](pg::Connection& tx) -> absl::Status {
    out = UpdateCalendarIn(tx, c, now);
    return out.status();
  }));
  return out;
}

absl::StatusOr<Calendar> PgSettingsStore::UpdateCalendarIn(pg::Connection& conn, const Calendar& c,
                                                           absl::Time now) {
  // A change of what counts as open time re-plans the running clocks on this calendar: the
  // calendar in force until now goes with the replan, in the same commit.
  const std::string body = CalendarBody(c);
  SUNDESK_RETURN_IF_ERROR(
      conn.Execute("SELECT pg_advisory_xact_lock($1)", {kSettingsLockKey}).status());
  SUNDESK_RETURN_IF_ERROR(
      conn.Execute("INSERT INTO sla.replans (calendar_id, version, old_time_zone, "
                   "old_always_open, old_body, change_time) "
                   "SELECT calendar_id, version + 1, time_zone, always_open, body, $2 "
                   "FROM sla.calendars WHERE calendar_id = $1 AND version = $3 AND "
                   "(time_zone, always_open, body) IS DISTINCT FROM "
                   "($4::text, $5::boolean, $6::bytea)",
                   {c.calendar_id, now, c.version, c.spec.time_zone, c.spec.always_open,
                    pg::Param::Bytea(body)})
          .status());
  SUNDESK_ASSIGN_OR_RETURN(
      pg::Result r,
      conn.Execute(absl::StrCat("UPDATE sla.calendars SET display_name = $2, time_zone = $3, "
                                "always_open = $4, body = $5, version = version + 1, "
                                "update_time = $6 WHERE calendar_id = $1 AND version = $7 "
                                "RETURNING ",
                                kCalendarColumns),
                   {c.calendar_id, c.display_name, c.spec.time_zone, c.spec.always_open,
                    pg::Param::Bytea(body), now, c.version}));
  if (r.rows() == 0) return absl::AbortedError("etag: the calendar changed meanwhile; retry");
  return CalendarFromRow(r, 0);
}

absl::StatusOr<std::vector<Calendar>> PgSettingsStore::ListCalendars(absl::string_view tenant_id,
                                                                     absl::string_view after_name,
                                                                     absl::string_view after_id,
                                                                     int limit) {
  SUNDESK_ASSIGN_OR_RETURN(pg::Lease conn, pool_.Acquire());
  SUNDESK_ASSIGN_OR_RETURN(
      pg::Result r,
      conn->Execute(absl::StrCat("SELECT ", kCalendarColumns,
                                 " FROM sla.calendars WHERE tenant_id = $1 AND "
                                 "($4 = '' OR (display_name, calendar_id) > ($2, $4)) "
                                 "ORDER BY display_name, calendar_id LIMIT $3"),
                    {tenant_id, after_name, limit, after_id}));
  std::vector<Calendar> out;
  for (int i = 0; i < r.rows(); ++i) {
    SUNDESK_ASSIGN_OR_RETURN(Calendar c, CalendarFromRow(r, i));
    out.push_back(std::move(c));
  }
  return out;
}

absl::StatusOr<Policy> PgSettingsStore::CreatePolicy(const Policy& p,
                                                     absl::string_view request_id) {
  absl::StatusOr<Policy> out;
  absl::Status st = pg::WithTransaction(pool_, [&](pg::Connection& tx) -> absl::Status {
    out = CreatePolicyIn(tx, p, request_id);
    return out.status();
  });
  if (!out.ok()) return out.status();
  if (!st.ok()) return st;
  return out;
}

absl::StatusOr<Policy> PgSettingsStore::CreatePolicyIn(pg::Connection& conn, const Policy& p,
                                                       absl::string_view request_id) {
  // A new policy can cover running tickets (better matched than by the policy they have, or
  // matched by none before): the tenant's tickets are matched again at its creation, by the
  // replan written in this commit (as a change of a policy's match fields does).
  SUNDESK_RETURN_IF_ERROR(
      conn.Execute("SELECT pg_advisory_xact_lock($1)", {kSettingsLockKey}).status());
  absl::StatusOr<pg::Result> r = conn.Execute(
      absl::StrCat("INSERT INTO sla.policies (policy_id, tenant_id, display_name, priority, "
                   "channel, tag, first_response_ns, next_response_ns, periodic_update_ns, "
                   "resolution_ns, calendar_id, warn_at_percent, version, request_id, "
                   "create_time, update_time) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, "
                   "$11, $12, $13, $14, $15, $15) "
                   "ON CONFLICT (tenant_id, request_id) WHERE request_id <> '' DO NOTHING "
                   "RETURNING ",
                   kPolicyColumns),
      {p.policy_id, p.tenant_id, p.display_name, static_cast<int>(p.priority),
       static_cast<int>(p.channel), p.tag, ToNanos(p.first_response), ToNanos(p.next_response),
       ToNanos(p.periodic_update), ToNanos(p.resolution), p.calendar_id, p.warn_at_percent,
       p.version, request_id, p.create_time});
  if (absl::IsAlreadyExists(r.status()) && pg::ConstraintName(r.status()) == "policies_match") {
    return MatchTaken(p);
  }
  if (!r.ok()) return r.status();
  if (r->rows() == 0) {  // a retried request: the first one's policy (and replan)
    SUNDESK_ASSIGN_OR_RETURN(
        r, conn.Execute(absl::StrCat("SELECT ", kPolicyColumns,
                                     " FROM sla.policies WHERE tenant_id = $1 AND "
                                     "request_id = $2"),
                        {p.tenant_id, request_id}));
    if (r->rows() == 0) return absl::AbortedError("policy request raced; retry");
    return PolicyFromRow(*r, 0);
  }
  SUNDESK_RETURN_IF_ERROR(conn.Execute("INSERT INTO sla.replans (policy_id, tenant_id, version, "
                                       "change_time) VALUES ($1, $2, $3, $4)",
                                       {p.policy_id, p.tenant_id, p.version, p.create_time})
                              .status());
  return PolicyFromRow(*r, 0);
}

absl::StatusOr<Policy> PgSettingsStore::GetPolicy(absl::string_view policy_id) {
  SUNDESK_ASSIGN_OR_RETURN(pg::Lease conn, pool_.Acquire());
  SUNDESK_ASSIGN_OR_RETURN(pg::Result r,
                           conn->Execute(absl::StrCat("SELECT ", kPolicyColumns,
                                                      " FROM sla.policies WHERE policy_id = $1"),
                                         {policy_id}));
  if (r.rows() == 0) return absl::NotFoundError("policy not found");
  return PolicyFromRow(r, 0);
}

absl::StatusOr<Policy> PgSettingsStore::UpdatePolicy(const Policy& p, absl::Time now) {
  absl::StatusOr<Policy> out;
  absl::Status st = pg::WithTransaction(pool_, [&](pg::Connection& tx) -> absl::Status {
    out = UpdatePolicyIn(tx, p, now);
    return out.status();
  });
  if (!out.ok()) return out.status();
  if (!st.ok()) return st;
  return out;
}

absl::StatusOr<Policy> PgSettingsStore::UpdatePolicyIn(pg::Connection& conn, const Policy& p,
                                                       absl::Time now) {
  // A change of targets, calendar or warning re-plans the running clocks under this policy;
  // a change of its match fields re-matches every ticket of the tenant (which covers the
  // rest too).
  SUNDESK_RETURN_IF_ERROR(
      conn.Execute("SELECT pg_advisory_xact_lock($1)", {kSettingsLockKey}).status());
  SUNDESK_RETURN_IF_ERROR(
      conn.Execute(
              "INSERT INTO sla.replans (policy_id, tenant_id, version, change_time) "
              "SELECT policy_id, CASE WHEN (priority, channel, tag) IS DISTINCT FROM "
              "($10::integer, $11::integer, $12::text) THEN tenant_id ELSE '' END, "
              "version + 1, $2 FROM sla.policies "
              "WHERE policy_id = $1 AND version = $3 AND "
              "((first_response_ns, next_response_ns, periodic_update_ns, resolution_ns, "
              "calendar_id, warn_at_percent) IS DISTINCT FROM "
              "($4::bigint, $5::bigint, $6::bigint, $7::bigint, $8::text, $9::integer) OR "
              "(priority, channel, tag) IS DISTINCT FROM ($10::integer, $11::integer, $12::text))",
              {p.policy_id, now, p.version, ToNanos(p.first_response), ToNanos(p.next_response),
               ToNanos(p.periodic_update), ToNanos(p.resolution), p.calendar_id, p.warn_at_percent,
               static_cast<int>(p.priority), static_cast<int>(p.channel), p.tag})
          .status());
  absl::StatusOr<pg::Result> r = conn.Execute(
      absl::StrCat("UPDATE sla.policies SET display_name = $2, priority = $3, channel = $4, "
                   "tag = $5, first_response_ns = $6, next_response_ns = $7, "
                   "periodic_update_ns = $8, resolution_ns = $9, calendar_id = $10, "
                   "warn_at_percent = $11, version = version + 1, update_time = $12 "
                   "WHERE policy_id = $1 AND version = $13 RETURNING ",
                   kPolicyColumns),
      {p.policy_id, p.display_name, static_cast<int>(p.priority), static_cast<int>(p.channel),
       p.tag, ToNanos(p.first_response), ToNanos(p.next_response), ToNanos(p.periodic_update),
       ToNanos(p.resolution), p.calendar_id, p.warn_at_percent, now, p.version});
  if (absl::IsAlreadyExists(r.status()) && pg::ConstraintName(r.status()) == "policies_match") {
    return MatchTaken(p);
  }
  if (!r.ok()) return r.status();
  if (r->rows() == 0) return absl::AbortedError("etag: the policy changed meanwhile; retry");
  return PolicyFromRow(*r, 0);
}

absl::StatusOr<std::vector<Policy>> PgSettingsStore::ListPolicies(absl::string_view tenant_id,
                                                                  absl::Time after_create_time,
                                                                  absl::string_view after_id,
                                                                  int limit) {
  SUNDESK_ASSIGN_OR_RETURN(pg::Lease conn, pool_.Acquire());
  const absl::Time after =
      after_create_time == absl::InfinitePast() ? absl::UnixEpoch() : after_create_time;
  SUNDESK_ASSIGN_OR_RETURN(
      pg::Result r, conn->Execute(absl::StrCat("SELECT ", kPolicyColumns,
                                               " FROM sla.policies WHERE tenant_id = $1 AND "
                                               "($4 = '' OR (create_time, policy_id) > ($2, $4)) "
                                               "ORDER BY create_time, policy_id LIMIT $3"),
                                  {tenant_id, after, limit, after_id}));
  std::vector<Policy> out;
  for (int i = 0; i < r.rows(); ++i) {
    SUNDESK_ASSIGN_OR_RETURN(Policy p, PolicyFromRow(r, i));
    out.push_back(std::move(p));
  }
  return out;
}

absl::StatusOr<std::vector<Policy>> PgSettingsStore::Policies(const std::string& tenant_id) const {
  SUNDESK_ASSIGN_OR_RETURN(pg::Lease conn, pool_.Acquire());
  SUNDESK_ASSIGN_OR_RETURN(
      pg::Result r,
      conn->Execute(absl::StrCat("SELECT ", kPolicyColumns,
                                 " FROM sla.policies WHERE tenant_id = $1 ORDER BY create_time"),
                    {tenant_id}));
  std::vector<Policy> out;
  for (int i = 0; i < r.rows(); ++i) {
    SUNDESK_ASSIGN_OR_RETURN(Policy p, PolicyFromRow(r, i));
    out.push_back(std::move(p));
  }
  return out;
}

absl::StatusOr<std::shared_ptr<const calendar::BusinessCalendar>> PgSettingsStore::CalendarById(
    const std::string& calendar_id) const {
  SUNDESK_ASSIGN_OR_RETURN(sla::Calendar c, ReadCalendar(calendar_id));
  SUNDESK_ASSIGN_OR_RETURN(calendar::BusinessCalendar cal,
                           calendar::BusinessCalendar::Create(c.spec));
  return std::make_shared<const calendar::BusinessCalendar>(std::move(cal));
}

}  // namespace sundesk::sla
