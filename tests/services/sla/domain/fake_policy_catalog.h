#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "services/sla/domain/sla_engine.h"

namespace sundesk::sla {

// Policies and calendars held in memory.
class FakePolicyCatalog final : public PolicyCatalog {
 public:
  void AddCalendar(const std::string& id, calendar::BusinessCalendar cal) {
    calendars_[id] = std::make_shared<const calendar::BusinessCalendar>(std::move(cal));
  }
  void AddPolicy(Policy p) { policies_.push_back(std::move(p)); }
  std::vector<Policy>& policies() { return policies_; }

  absl::StatusOr<std::vector<Policy>> Policies(const std::string& tenant_id) const override {
    std::vector<Policy> out;
    for (const Policy& p : policies_) {
      if (p.tenant_id == tenant_id) out.push_back(p);
    }
    return out;
  }
  absl::StatusOr<std::shared_ptr<const calendar::BusinessCalendar>> CalendarById(
      const std::string& calendar_id) const override {
    auto it = calendars_.find(calendar_id);
    if (it == calendars_.end()) {
      return absl::NotFoundError(absl::StrCat("calendar '", calendar_id, "' not found"));
    }
    return it->second;
  }

 private:
  std::vector<Policy> policies_;
  std::map<std::string, std::shared_ptr<const calendar::BusinessCalendar>> calendars_;
};

}  // namespace sundesk::sla
