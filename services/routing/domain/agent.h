#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

// The outsourcer's agents as routing sees them: plain values, no proto, no SQL.
namespace sundesk::routing {

struct LanguageProficiency {
  std::string code;     // BCP 47
  int proficiency = 0;  // 1 (basic) .. 5 (native)
};

struct Skill {
  std::string name;
  int level = 0;  // 1 (basic) .. 5 (expert)
};

// Training for one client company; without it the agent gets none of its tickets.
struct Certification {
  std::string tenant_id;
  std::optional<absl::Time> expire_time;  // none: it does not lapse

  bool ValidAt(absl::Time t) const { return !expire_time.has_value() || t < *expire_time; }
};

// A weekly shift in the agent's own time zone: starts on ISO `weekday` (1 = Monday) at
// `start` ("HH:MM"); an `end` before `start` crosses midnight, an equal one lasts 24 h.
struct Shift {
  int weekday = 0;
  std::string start;
  std::string end;
};

struct Agent {
  std::string agent_id;
  std::string display_name;
  std::vector<LanguageProficiency> languages;
  std::vector<Skill> skills;
  std::vector<Certification> certifications;
  int capacity = 0;
  std::string time_zone;  // IANA
  std::vector<Shift> shifts;
  int tier = 0;
  bool disabled = false;
  int64_t version = 0;  // bumped by every update; the etag is derived from it
  absl::Time create_time;
  absl::Time update_time;
};

std::string AgentEtag(const Agent& agent);

// Minutes since local midnight of a valid "HH:MM" (00:00-23:59), or INVALID_ARGUMENT
// naming `field`.
absl::StatusOr<int> ParseClockTime(absl::string_view field, absl::string_view hh_mm);

}  // namespace sundesk::routing
