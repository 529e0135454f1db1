#include "services/sla/domain/settings.h"

#include <algorithm>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "libs/api/validation.h"
#include "libs/core/status.h"

namespace sundesk::sla {
namespace {

constexpr size_t kMaxLabelChars = 200;
constexpr size_t kMaxTagChars = 64;
// Longest target a policy may set: ten years of business time.
constexpr absl::Duration kMaxTarget = absl::Hours(24 * 3650);
// Updates without an etag are retried on a concurrent change rather than lost.
constexpr int kUpdateAttempts = 5;

absl::Status CheckTenantId(absl::string_view field, absl::string_view tenant_id) {
  if (tenant_id.empty()) return absl::InvalidArgumentError(absl::StrCat(field, ": required"));
  if (!IsUuid(tenant_id)) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": not a tenant id (a UUID)"));
  }
  return absl::OkStatus();
}

absl::Status CalendarNotFound(absl::string_view field, absl::string_view id) {
  return absl::NotFoundError(
      absl::StrCat(field, ": calendar '", absl::CHexEscape(id.substr(0, 64)), "' not found"));
}

absl::Status PolicyNotFound(absl::string_view id) {
  return absl::NotFoundError(absl::StrCat("policy.policy_id: policy '",
                                          absl::CHexEscape(id.substr(0, 64)), "' not found"));
}

// What a page token is bound to besides the tenant: which list it continues.
constexpr char kCalendarsQuery[] = "sla.calendars";
constexpr char kPoliciesQuery[] = "sla.policies";

// The tenant a list is for: CLIENT keys their own (empty means it), others must name one.
absl::StatusOr<std::string> ListTenant(const Caller& caller, absl::string_view tenant_id) {
  if (caller.all_tenants) {
    SUNDESK_RETURN_IF_ERROR(CheckTenantId("tenant_id", tenant_id));
    return std::string(tenant_id);
  }
  return std::string(tenant_id.empty() ? caller.tenant_id : tenant_id);
}

bool Sees(const Caller& caller, absl::string_view tenant_id) {
  return caller.all_tenants || caller.tenant_id == tenant_id;
}

absl::Status CheckMask(const std::vector<std::string>& mask,
                       const std::vector<absl::string_view>& updatable) {
  if (mask.empty()) return absl::InvalidArgumentError("update_mask: must name at least one field");
  for (const std::string& path : mask) {
    if (std::find(updatable.begin(), updatable.end(), path) == updatable.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat("update_mask: '", absl::CHexEscape(path.substr(0, 64)),
                       "' is not updatable (", absl::StrJoin(updatable, ", "), ")"));
    }
  }
  return absl::OkStatus();
}

bool Has(const std::vector<std::string>& mask, absl::string_view path) {
  return std::find(mask.begin(), mask.end(), path) != mask.end();
}

absl::Status CheckTarget(absl::string_view field, absl::Duration d) {
  if (d < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": must not be negative"));
  }
  if (d > kMaxTarget) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": at most 3650 days"));
  }
  return absl::OkStatus();
}

}  // namespace

std::string CalendarEtag(const Calendar& c) { return absl::StrCat("v", c.version); }
std::string PolicyEtag(const Policy& p) { return absl::StrCat("v", p.version); }

absl::Status ValidateCalendar(const Calendar& c) {
  SUNDESK_RETURN_IF_ERROR(CheckTenantId("calendar.tenant_id", c.tenant_id));
  SUNDESK_RETURN_IF_ERROR(
      api::CheckText("calendar.display_name", c.display_name, 0, kMaxLabelChars));
  SUNDESK_RETURN_IF_ERROR(calendar::BusinessCalendar::Create(c.spec, "calendar.").status());
  if (!c.spec.always_open) {
    for (size_t i = 0; i < c.spec.holidays.size(); ++i) {
      SUNDESK_RETURN_IF_ERROR(api::CheckText(absl::StrCat("calendar.holidays[", i, "].name"),
                                             c.spec.holidays[i].name, 0, kMaxLabelChars));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidatePolicy(const Policy& p) {
  SUNDESK_RETURN_IF_ERROR(CheckTenantId("policy.tenant_id", p.tenant_id));
  SUNDESK_RETURN_IF_ERROR(api::CheckText("policy.display_name", p.display_name, 0, kMaxLabelChars));
  if (static_cast<int>(p.priority) < 0 || static_cast<int>(p.priority) > 4) {
    return absl::InvalidArgumentError("policy.priority: not a Priority");
  }
  if (static_cast<int>(p.channel) < 0 || static_cast<int>(p.channel) > 5) {
    return absl::InvalidArgumentError("policy.channel: not a Channel");
  }
  SUNDESK_RETURN_IF_ERROR(api::CheckText("policy.tag", p.tag, 0, kMaxTagChars));
  SUNDESK_RETURN_IF_ERROR(CheckTarget("policy.first_response", p.first_response));
  SUNDESK_RETURN_IF_ERROR(CheckTarget("policy.next_response", p.next_response));
  SUNDESK_RETURN_IF_ERROR(CheckTarget("policy.periodic_update", p.periodic_update));
  SUNDESK_RETURN_IF_ERROR(CheckTarget("policy.resolution", p.resolution));
  if (p.first_response == absl::ZeroDuration() && p.next_response == absl::ZeroDuration() &&
      p.periodic_update == absl::ZeroDuration() && p.resolution == absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "policy.first_response: a policy needs at least one target (first_response, "
        "next_response, periodic_update or resolution)");
  }
  if (p.calendar_id.empty()) return absl::InvalidArgumentError("policy.calendar_id: required");
  if (p.warn_at_percent < 0 || p.warn_at_percent > 99) {
    return absl::InvalidArgumentError("policy.warn_at_percent: must be 0–99 (0: no warning)");
  }
  return absl::OkStatus();
}

absl::StatusOr<Calendar> SlaSettings::CreateCalendar(absl::string_view request_id, Calendar c) {
  SUNDESK_RETURN_IF_ERROR(api::CheckRequestId("request_id", request_id));
  SUNDESK_RETURN_IF_ERROR(ValidateCalendar(c));
  c.calendar_id = ids_.NewId();
  c.version = 1;
  c.create_time = c.update_time = clock_.Now();
  return store_.CreateCalendar(c, request_id);
}

absl::StatusOr<Calendar> SlaSettings::GetCalendar(const Caller& caller,
                                                  absl::string_view calendar_id) {
  if (calendar_id.empty()) return absl::InvalidArgumentError("calendar_id: required");
  absl::StatusOr<Calendar> c = store_.GetCalendar(calendar_id);
  if (absl::IsNotFound(c.status()) || (c.ok() && !Sees(caller, c->tenant_id))) {
    return CalendarNotFound("calendar_id", calendar_id);
  }
  return c;
}

absl::StatusOr<CalendarPage> SlaSettings::ListCalendars(const Caller& caller,
                                                        absl::string_view tenant_id,
                                                        int64_t page_size,
                                                        absl::string_view page_token) {
  SUNDESK_ASSIGN_OR_RETURN(int limit, api::ResolvePageSize("page_size", page_size));
  SUNDESK_ASSIGN_OR_RETURN(std::string tenant, ListTenant(caller, tenant_id));
  CalendarPage page;
  if (!Sees(caller, tenant)) return page;  // like a tenant without calendars
  std::string after_name, after_id;
  if (!page_token.empty()) {
    SUNDESK_ASSIGN_OR_RETURN(
        std::string position,
        page_tokens_.Verify("page_token", tenant, kCalendarsQuery, page_token));
    // "<length of name>:<name><id>"
    const size_t colon = position.find(':');
    size_t length = 0;
    if (colon == std::string::npos || !absl::SimpleAtoi(position.substr(0, colon), &length) ||
        length > position.size() - colon - 1) {
      return absl::InvalidArgumentError("page_token: not a token of this list");
    }
    after_name = position.substr(colon + 1, length);
    after_id = position.substr(colon + 1 + length);
  }
  SUNDESK_ASSIGN_OR_RETURN(page.calendars,
                           store_.ListCalendars(tenant, after_name, after_id, limit + 1));
  if (static_cast<int>(page.calendars.size()) > limit) {
    page.calendars.resize(limit);
    const Calendar& last = page.calendars.back();
    page.next_page_token = page_tokens_.Sign(
        tenant, kCalendarsQuery,
        absl::StrCat(last.display_name.size(), ":", last.display_name, last.calendar_id));
  }
  return page;
}

absl::StatusOr<Calendar> SlaSettings::UpdateCalendar(const Calendar& changes,
                                                     const std::vector<std::string>& update_mask,
                                                     absl::string_view etag) {
  if (changes.calendar_id.empty()) {
    return absl::InvalidArgumentError("calendar.calendar_id: required");
  }
  SUNDESK_RETURN_IF_ERROR(
      CheckMask(update_mask, {"display_name", "time_zone", "always_open", "hours", "holidays"}));
  for (int attempt = 1;; ++attempt) {
    absl::StatusOr<Calendar> stored = store_.GetCalendar(changes.calendar_id);
    if (absl::IsNotFound(stored.status())) {
      return CalendarNotFound("calendar.calendar_id", changes.calendar_id);
    }
    if (!stored.ok()) return stored.status();
    Calendar c = *std::move(stored);
    if (!etag.empty() && etag != CalendarEtag(c)) {
      return absl::AbortedError(absl::StrCat("etag: stale (the calendar is at ", CalendarEtag(c),
                                             "); re-read and retry"));
    }
    if (Has(update_mask, "display_name")) c.display_name = changes.display_name;
    if (Has(update_mask, "time_zone")) c.spec.time_zone = changes.spec.time_zone;
    if (Has(update_mask, "always_open")) c.spec.always_open = changes.spec.always_open;
    if (Has(update_mask, "hours")) c.spec.hours = changes.spec.hours;
    if (Has(update_mask, "holidays")) c.spec.holidays = changes.spec.holidays;
    SUNDESK_RETURN_IF_ERROR(ValidateCalendar(c));
    absl::StatusOr<Calendar> updated = store_.UpdateCalendar(c, clock_.Now());
    if (absl::IsAborted(updated.status()) && etag.empty() && attempt < kUpdateAttempts) continue;
    return updated;
  }
}

absl::Status SlaSettings::CheckPolicyCalendar(const Policy& p) {
  absl::StatusOr<Calendar> c = store_.GetCalendar(p.calendar_id);
  if (absl::IsNotFound(c.status()) || (c.ok() && c->tenant_id != p.tenant_id)) {
    return CalendarNotFound("policy.calendar_id", p.calendar_id);
  }
  return c.status();
}

absl::StatusOr<Policy> SlaSettings::CreatePolicy(absl::string_view request_id, Policy p) {
  SUNDESK_RETURN_IF_ERROR(api::CheckRequestId("request_id", request_id));
  SUNDESK_RETURN_IF_ERROR(ValidatePolicy(p));
  SUNDESK_RETURN_IF_ERROR(CheckPolicyCalendar(p));
  p.policy_id = ids_.NewId();
  p.version = 1;
  p.create_time = p.update_time = clock_.Now();
  return store_.CreatePolicy(p, request_id);
}

absl::StatusOr<PolicyPage> SlaSettings::ListPolicies(const Caller& caller,
                                                     absl::string_view tenant_id, int64_t page_size,
                                                     absl::string_view page_token) {
  SUNDESK_ASSIGN_OR_RETURN(int limit, api::ResolvePageSize("page_size", page_size));
  SUNDESK_ASSIGN_OR_RETURN(std::string tenant, ListTenant(caller, tenant_id));
  PolicyPage page;
  if (!Sees(caller, tenant)) return page;  // like a tenant without policies
  absl::Time after_time = absl::InfinitePast();
  std::string after_id;
  if (!page_token.empty()) {
    SUNDESK_ASSIGN_OR_RETURN(std::string position,
                             page_tokens_.Verify("page_token", tenant, kPoliciesQuery, page_token));
    // "<create_time in unix microseconds>:<id>"
    const size_t colon = position.find(':');
    int64_t micros = 0;
    if (colon == std::string::npos || !absl::SimpleAtoi(position.substr(0, colon), &micros)) {
      return absl::InvalidArgumentError("page_token: not a token of this list");
    }
    after_time = absl::FromUnixMicros(micros);
    after_id = position.substr(colon + 1);
  }
  SUNDESK_ASSIGN_OR_RETURN(page.policies,
                           store_.ListPolicies(tenant, after_time, after_id, limit + 1));
  if (static_cast<int>(page.policies.size()) > limit) {
    page.policies.resize(limit);
    const Policy& last = page.policies.back();
    page.next_page_token =
        page_tokens_.Sign(tenant, kPoliciesQuery,
                          absl::StrCat(absl::ToUnixMicros(last.create_time), ":", last.policy_id));
  }
  return page;
}

absl::StatusOr<Policy> SlaSettings::UpdatePolicy(const Policy& changes,
                                                 const std::vector<std::string>& update_mask,
                                                 absl::string_view etag) {
  if (changes.policy_id.empty()) return absl::InvalidArgumentError("policy.policy_id: required");
  SUNDESK_RETURN_IF_ERROR(CheckMask(
      update_mask, {"display_name", "priority", "channel", "tag", "first_response", "next_response",
                    "periodic_update", "resolution", "calendar_id", "warn_at_percent"}));
  for (int attempt = 1;; ++attempt) {
    absl::StatusOr<Policy> stored = store_.GetPolicy(changes.policy_id);
    if (absl::IsNotFound(stored.status())) return PolicyNotFound(changes.policy_id);
    if (!stored.ok()) return stored.status();
    Policy p = *std::move(stored);
    if (!etag.empty() && etag != PolicyEtag(p)) {
      return absl::AbortedError(
          absl::StrCat("etag: stale (the policy is at ", PolicyEtag(p), "); re-read and retry"));
    }
    if (Has(update_mask, "display_name")) p.display_name = changes.display_name;
    if (Has(update_mask, "priority")) p.priority = changes.priority;
    if (Has(update_mask, "channel")) p.channel = changes.channel;
    if (Has(update_mask, "tag")) p.tag = changes.tag;
    if (Has(update_mask, "first_response")) p.first_response = changes.first_response;
    if (Has(update_mask, "next_response")) p.next_response = changes.next_response;
    if (Has(update_mask, "periodic_update")) p.periodic_update = changes.periodic_update;
    if (Has(update_mask, "resolution")) p.resolution = changes.resolution;
    if (Has(update_mask, "calendar_id")) p.calendar_id = changes.calendar_id;
    if (Has(update_mask, "warn_at_percent")) p.warn_at_percent = changes.warn_at_percent;
    SUNDESK_RETURN_IF_ERROR(ValidatePolicy(p));
    if (Has(update_mask, "calendar_id")) SUNDESK_RETURN_IF_ERROR(CheckPolicyCalendar(p));
    absl::StatusOr<Policy> updated = store_.UpdatePolicy(p, clock_.Now());
    if (absl::IsAborted(updated.status()) && etag.empty() && attempt < kUpdateAttempts) continue;
    return updated;
  }
}

}  // namespace sundesk::sla
