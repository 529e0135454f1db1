#pragma once

#include <memory>
#include <string>
#include <vector>

#include "libs/pg/pool.h"
#include "services/sla/domain/settings.h"
#include "services/sla/domain/sla_engine.h"

namespace sundesk::sla {

// The columns PolicyFromRow and CalendarFromRow read, for SELECTs of sla.policies and
// sla.calendars.
extern const absl::string_view kPolicyColumns;
extern const absl::string_view kCalendarColumns;
absl::StatusOr<Policy> PolicyFromRow(const pg::Result& r, int row);
absl::StatusOr<Calendar> CalendarFromRow(const pg::Result& r, int row);

// The transaction-scoped advisory lock between settings changes and clock updates: an
// UpdateCalendar, UpdatePolicy or CreatePolicy that writes a replan holds it exclusively until its
// commit; every batch of clock updates holds it shared while it reads the pending replans
// and the calendars and policies. So a batch sees a settings change together with its
// replan, or neither (never the new calendar without the replan that re-plans onto it).
inline constexpr int64_t kSettingsLockKey = 0x534c4153455454;  // "SLASETT"

// Calendars and policies in PostgreSQL schema `sla`. Also the engine's PolicyCatalog.
// UpdateCalendar, UpdatePolicy and CreatePolicy record, in the same commit, the
// `sla.replans` row that makes the clocks they concern re-plan (PgClockStore); CreatePolicy's
// re-matches every ticket of the tenant.
class PgSettingsStore final : public SettingsStore, public PolicyCatalog {
 public:
  explicit PgSettingsStore(pg::Pool& pool) : pool_(pool) {}

  absl::StatusOr<Calendar> CreateCalendar(const Calendar& c, absl::string_view request_id) override;
  absl::StatusOr<Calendar> GetCalendar(absl::string_view calendar_id) override;
  absl::StatusOr<Calendar> UpdateCalendar(const Calendar& c, absl::Time now) override;
  absl::StatusOr<std::vector<Calendar>> ListCalendars(absl::string_view tenant_id,
                                                      absl::string_view after_name,
                                                      absl::string_view after_id,
                                                      int limit) override;

  absl::StatusOr<Policy> CreatePolicy(const Policy& p, absl::string_view request_id) override;
  absl::StatusOr<Policy> GetPolicy(absl::string_view policy_id) override;
  absl::StatusOr<Policy> UpdatePolicy(const Policy& p, absl::Time now) override;
  absl::StatusOr<std::vector<Policy>> ListPolicies(absl::string_view tenant_id,
                                                   absl::Time after_create_time,
                                                   absl::string_view after_id, int limit) override;

  // PolicyCatalog.
  absl::StatusOr<std::vector<Policy>> Policies(const std::string& tenant_id) const override;
  absl::StatusOr<std::shared_ptr<const calendar::BusinessCalendar>> CalendarById(
      const std::string& calendar_id) const override;

 private:
  absl::StatusOr<sla::Calendar> ReadCalendar(absl::string_view calendar_id) const;
  // The updates, in a transaction that also records the replan the change causes.
  absl::StatusOr<Calendar> UpdateCalendarIn(pg::Connection& conn, const Calendar& c,
                                            absl::Time now);
  absl::StatusOr<Policy> UpdatePolicyIn(pg::Connection& conn, const Policy& p, absl::Time now);
  absl::StatusOr<Policy> CreatePolicyIn(pg::Connection& conn, const Policy& p,
                                        absl::string_view request_id);

  pg::Pool& pool_;
};

}  // namespace sundesk::sla
