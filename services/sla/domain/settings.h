#pragma once
// A tenant's SLA settings: business calendars and SLA policies (CreateCalendar, GetCalendar,
// ListCalendars, UpdateCalendar, CreatePolicy, ListPolicies, UpdatePolicy).

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "libs/api/page_token.h"
#include "libs/calendar/business_calendar.h"
#include "libs/core/clock.h"
#include "libs/core/ids.h"
#include "services/sla/domain/sla_model.h"

namespace sundesk::sla {

struct Calendar {
  std::string calendar_id;
  std::string tenant_id;
  std::string display_name;
  calendar::CalendarSpec spec;
  int64_t version = 0;  // 1 on create, +1 per update; the etag is derived from it
  absl::Time create_time = absl::UnixEpoch();
  absl::Time update_time = absl::UnixEpoch();
};

std::string CalendarEtag(const Calendar& c);
std::string PolicyEtag(const Policy& p);

// Who calls, as the settings see it (the api layer maps rpc::Principal onto it).
struct Caller {
  bool all_tenants = false;  // ADMIN and SERVICE keys
  std::string tenant_id;     // CLIENT keys: their own tenant
  bool agent = false;        // AGENT keys: the tickets assigned to `agent_id` (GetTicketSla)
  std::string agent_id;
};

struct CalendarPage {
  std::vector<Calendar> calendars;
  std::string next_page_token;
};
struct PolicyPage {
  std::vector<Policy> policies;
  std::string next_page_token;
};

// Where settings live (PostgreSQL in production, memory in unit tests).
class SettingsStore {
 public:
  virtual ~SettingsStore() = default;
  // Inserts `c` (version 1). With a non-empty `request_id` already used by the same tenant,
  // returns the calendar that request created instead.
  virtual absl::StatusOr<Calendar> CreateCalendar(const Calendar& c,
                                                  absl::string_view request_id) = 0;
  // NOT_FOUND when missing.
  virtual absl::StatusOr<Calendar> GetCalendar(absl::string_view calendar_id) = 0;
  // Writes `c` as version c.version + 1 if the stored version is still c.version, else
  // ABORTED.
  virtual absl::StatusOr<Calendar> UpdateCalendar(const Calendar& c, absl::Time now) = 0;
  // Ordered by (display_name, calendar_id), after that position when given.
  virtual absl::StatusOr<std::vector<Calendar>> ListCalendars(absl::string_view tenant_id,
                                                              absl::string_view after_name,
                                                              absl::string_view after_id,
                                                              int limit) = 0;

  // As for calendars; ALREADY_EXISTS when the tenant has a policy with the same match.
  virtual absl::StatusOr<Policy> CreatePolicy(const Policy& p, absl::string_view request_id) = 0;
  virtual absl::StatusOr<Policy> GetPolicy(absl::string_view policy_id) = 0;
  virtual absl::StatusOr<Policy> UpdatePolicy(const Policy& p, absl::Time now) = 0;
  // Ordered by (create_time, policy_id), after that position when given.
  virtual absl::StatusOr<std::vector<Policy>> ListPolicies(absl::string_view tenant_id,
                                                           absl::Time after_create_time,
                                                           absl::string_view after_id,
                                                           int limit) = 0;
};

// Validates and applies settings requests; tenant scope and etags are enforced here.
class SlaSettings {
 public:
  // `page_tokens` signs the lists' page tokens, bound to the tenant and the list.
  SlaSettings(SettingsStore& store, const Clock& clock, IdGenerator& ids,
              const api::PageTokenSigner& page_tokens)
      : store_(store), clock_(clock), ids_(ids), page_tokens_(page_tokens) {}

  absl::StatusOr<Calendar> CreateCalendar(absl::string_view request_id, Calendar c);
  absl::StatusOr<Calendar> GetCalendar(const Caller& caller, absl::string_view calendar_id);
  absl::StatusOr<CalendarPage> ListCalendars(const Caller& caller, absl::string_view tenant_id,
                                             int64_t page_size, absl::string_view page_token);
  absl::StatusOr<Calendar> UpdateCalendar(const Calendar& changes,
                                          const std::vector<std::string>& update_mask,
                                          absl::string_view etag);

  absl::StatusOr<Policy> CreatePolicy(absl::string_view request_id, Policy p);
  absl::StatusOr<PolicyPage> ListPolicies(const Caller& caller, absl::string_view tenant_id,
                                          int64_t page_size, absl::string_view page_token);
  absl::StatusOr<Policy> UpdatePolicy(const Policy& changes,
                                      const std::vector<std::string>& update_mask,
                                      absl::string_view etag);

 private:
  absl::Status CheckPolicyCalendar(const Policy& p);

  SettingsStore& store_;
  const Clock& clock_;
  IdGenerator& ids_;
  const api::PageTokenSigner& page_tokens_;
};

// Field checks; INVALID_ARGUMENT naming the field ("calendar.hours[2].end: ...").
absl::Status ValidateCalendar(const Calendar& c);
absl::Status ValidatePolicy(const Policy& p);

}  // namespace sundesk::sla
