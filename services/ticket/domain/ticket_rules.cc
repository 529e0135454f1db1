#include "services/ticket/domain/ticket_rules.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "libs/api/validation.h"
#include "libs/core/log.h"

namespace sundesk::ticket {
namespace {

absl::Status Invalid(absl::string_view field, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", what));
}

// Valid UTF-8 within `max_chars` code points (and at least `min_chars`).
// Valid UTF-8 without NUL (PostgreSQL text cannot hold NUL).
bool IsCleanUtf8(absl::string_view s) {
  return api::IsValidUtf8(s) && s.find('\0') == absl::string_view::npos;
}

absl::Status CheckChars(absl::string_view field, absl::string_view value, int min_chars,
                        int max_chars) {
  if (!IsCleanUtf8(value)) return Invalid(field, "must be valid UTF-8 without NUL");
  int64_t n = static_cast<int64_t>(api::Utf8Length(value));
  if (n < min_chars || n > max_chars) {
    if (min_chars > 0) {
      return Invalid(field,
                     absl::StrFormat("must be %d–%d characters, got %d", min_chars, max_chars, n));
    }
    return Invalid(field, absl::StrFormat("must be at most %d characters, got %d", max_chars, n));
  }
  return absl::OkStatus();
}

absl::Status CheckBytes(absl::string_view field, absl::string_view value, int min_bytes,
                        int max_bytes) {
  if (!IsCleanUtf8(value)) return Invalid(field, "must be valid UTF-8 without NUL");
  int64_t n = static_cast<int64_t>(value.size());
  if (n < min_bytes || n > max_bytes) {
    if (min_bytes > 0) {
      return Invalid(field,
                     absl::StrFormat("must be %d–%d bytes, got %d", min_bytes, max_bytes, n));
    }
    return Invalid(field, absl::StrFormat("must be at most %d bytes, got %d", max_bytes, n));
  }
  return absl::OkStatus();
}

absl::Status CheckLanguage(absl::string_view field, absl::string_view value, bool required) {
  if (value.empty()) return required ? Invalid(field, "must not be empty") : absl::OkStatus();
  return api::CheckLanguageTag(field, value);
}

absl::Status CheckStringList(absl::string_view field, const std::vector<std::string>& values,
                             int max_items, int max_chars) {
  if (static_cast<int>(values.size()) > max_items) {
    return Invalid(field, absl::StrFormat("at most %d entries, got %d", max_items, values.size()));
  }
  for (size_t i = 0; i < values.size(); ++i) {
    if (absl::Status s = CheckChars(absl::StrCat(field, "[", i, "]"), values[i], 1, max_chars);
        !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

absl::Status CheckCustomFields(const std::map<std::string, std::string>& fields,
                               const TicketLimits& limits) {
  if (static_cast<int>(fields.size()) > limits.max_custom_fields) {
    return Invalid("custom_fields", absl::StrFormat("at most %d entries, got %d",
                                                    limits.max_custom_fields, fields.size()));
  }
  for (const auto& [key, value] : fields) {
    if (absl::Status s = CheckChars("custom_fields key", key, 1, limits.custom_field_key_max_chars);
        !s.ok()) {
      return s;
    }
    if (absl::Status s = CheckBytes(absl::StrCat("custom_fields[", JsonQuote(key), "]"), value, 0,
                                    limits.custom_field_value_max_bytes);
        !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

absl::Status CheckRequester(const Requester& r, const TicketLimits& limits) {
  const int max = limits.requester_text_max_chars;
  if (auto s = CheckChars("requester.external_id", r.external_id, 0, max); !s.ok()) return s;
  if (auto s = CheckChars("requester.name", r.name, 0, max); !s.ok()) return s;
  if (auto s = CheckChars("requester.email", r.email, 0, limits.email_max_chars); !s.ok()) {
    return s;
  }
  if (!r.email.empty()) {
    size_t at = r.email.find('@');
    if (at == std::string::npos || at == 0 || at + 1 == r.email.size() ||
        r.email.find_first_of(" \t\r\n") != std::string::npos) {
      return Invalid("requester.email", "must be an email address (local@domain)");
    }
  }
  if (auto s = CheckLanguage("requester.language", r.language, false); !s.ok()) return s;
  if (!r.time_zone.empty()) return api::CheckTimeZone("requester.time_zone", r.time_zone);
  return absl::OkStatus();
}

absl::Status CheckId(absl::string_view field, absl::string_view value, const TicketLimits& limits) {
  if (value.empty()) return Invalid(field, "must not be empty");
  return CheckChars(field, value, 1, limits.id_max_chars);
}

absl::Status CheckPriority(absl::string_view field, Priority p, bool allow_unspecified) {
  if ((p == Priority::kUnspecified && !allow_unspecified) ||
      (p != Priority::kUnspecified && !IsKnownPriority(p))) {
    return Invalid(field, absl::StrCat("must be one of PRIORITY_LOW, PRIORITY_NORMAL, "
                                       "PRIORITY_HIGH, PRIORITY_URGENT, got ",
                                       static_cast<int>(p)));
  }
  return absl::OkStatus();
}

}  // namespace

std::string TicketEtag(int64_t version) { return absl::StrCat("\"v", version, "\""); }

absl::Status ValidateCreateTicket(const CreateTicketInput& in, const TicketLimits& limits) {
  if (auto s = CheckChars("request_id", in.request_id, 0, limits.request_id_max_chars); !s.ok()) {
    return s;
  }
  if (auto s = CheckChars("tenant_id", in.tenant_id, 0, limits.id_max_chars); !s.ok()) return s;
  if (auto s = CheckChars("subject", in.subject, 1, limits.subject_max_chars); !s.ok()) return s;
  if (auto s = CheckBytes("description", in.description, 0, limits.description_max_bytes);
      !s.ok()) {
    return s;
  }
  if (auto s = CheckRequester(in.requester, limits); !s.ok()) return s;
  if (in.channel != Channel::kUnspecified && !IsKnownChannel(in.channel)) {
    return Invalid("channel", absl::StrCat("unknown value ", static_cast<int>(in.channel)));
  }
  if (auto s = CheckPriority("priority", in.priority, true); !s.ok()) return s;
  if (auto s = CheckLanguage("language", in.language, false); !s.ok()) return s;
  if (auto s = CheckChars("category", in.category, 0, limits.category_max_chars); !s.ok()) {
    return s;
  }
  if (auto s = CheckStringList("required_skills", in.required_skills, limits.max_required_skills,
                               limits.skill_max_chars);
      !s.ok()) {
    return s;
  }
  if (auto s = CheckStringList("tags", in.tags, limits.max_tags, limits.tag_max_chars); !s.ok()) {
    return s;
  }
  return CheckCustomFields(in.custom_fields, limits);
}

const std::vector<std::string>& UpdatableTicketFields() {
  static const auto* fields =
      new std::vector<std::string>{"subject",       "description", "priority", "tags",
                                   "custom_fields", "category",    "language", "required_skills"};
  return *fields;
}

absl::Status ValidateUpdate(const UpdateTicketInput& in, const TicketLimits& limits) {
  if (auto s = CheckId("ticket.ticket_id", in.ticket_id, limits); !s.ok()) return s;
  if (in.paths.empty()) return Invalid("update_mask", "must name at least one field");
  const auto& updatable = UpdatableTicketFields();
  const Ticket& v = in.values;
  for (const std::string& path : in.paths) {
    if (std::find(updatable.begin(), updatable.end(), path) == updatable.end()) {
      return Invalid("update_mask", absl::StrCat(JsonQuote(IsCleanUtf8(path) ? path : "<invalid>"),
                                                 " is not updatable (updatable: ",
                                                 absl::StrJoin(updatable, ", "), ")"));
    }
    absl::Status s;
    if (path == "subject") {
      s = CheckChars("ticket.subject", v.subject, 1, limits.subject_max_chars);
    } else if (path == "description") {
      s = CheckBytes("ticket.description", v.description, 0, limits.description_max_bytes);
    } else if (path == "priority") {
      s = CheckPriority("ticket.priority", v.priority, false);
    } else if (path == "tags") {
      s = CheckStringList("ticket.tags", v.tags, limits.max_tags, limits.tag_max_chars);
    } else if (path == "custom_fields") {
      s = CheckCustomFields(v.custom_fields, limits);
    } else if (path == "category") {
      s = CheckChars("ticket.category", v.category, 0, limits.category_max_chars);
    } else if (path == "language") {
      s = CheckLanguage("ticket.language", v.language, true);
    } else if (path == "required_skills") {
      s = CheckStringList("ticket.required_skills", v.required_skills, limits.max_required_skills,
                          limits.skill_max_chars);
    }
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status ValidateComment(const AddCommentInput& in, const TicketLimits& limits) {
  if (auto s = CheckId("ticket_id", in.ticket_id, limits); !s.ok()) return s;
  if (auto s = CheckChars("request_id", in.request_id, 0, limits.request_id_max_chars); !s.ok()) {
    return s;
  }
  return CheckBytes("body", in.body, 1, limits.comment_max_bytes);
}

absl::Status ValidateTransition(const TransitionInput& in, const TicketLimits& limits) {
  if (auto s = CheckId("ticket_id", in.ticket_id, limits); !s.ok()) return s;
  if (in.to_status == TicketStatus::kUnspecified || !IsKnownStatus(in.to_status)) {
    return Invalid("to_status", absl::StrCat("must be a known status other than "
                                             "TICKET_STATUS_UNSPECIFIED, got ",
                                             static_cast<int>(in.to_status)));
  }
  return CheckChars("reason", in.reason, 0, limits.reason_max_chars);
}

absl::Status ValidateAssign(const AssignInput& in, const TicketLimits& limits) {
  if (auto s = CheckId("ticket_id", in.ticket_id, limits); !s.ok()) return s;
  if (auto s = CheckId("agent_id", in.agent_id, limits); !s.ok()) return s;
  if (auto s = CheckChars("offer_id", in.offer_id, 0, limits.id_max_chars); !s.ok()) return s;
  if (in.routing_stage < 0) return Invalid("routing_stage", "must not be negative");
  return absl::OkStatus();
}

absl::Status ValidateUnassign(const UnassignInput& in, const TicketLimits& limits) {
  if (auto s = CheckId("ticket_id", in.ticket_id, limits); !s.ok()) return s;
  return CheckChars("reason", in.reason, 0, limits.reason_max_chars);
}

absl::Status ValidateFilter(const TicketFilter& f) {
  if (f.status != TicketStatus::kUnspecified && !IsKnownStatus(f.status)) {
    return Invalid("filter.status", absl::StrCat("unknown value ", static_cast<int>(f.status)));
  }
  if (auto s = CheckPriority("filter.priority", f.priority, true); !s.ok()) return s;
  if (auto s = CheckChars("filter.assignee_id", f.assignee_id, 0, 128); !s.ok()) return s;
  if (auto s = CheckLanguage("filter.language", f.language, false); !s.ok()) return s;
  if (auto s = CheckChars("filter.tag", f.tag, 0, 64); !s.ok()) return s;
  if (auto s = CheckChars("filter.tenant_id", f.tenant_id, 0, 128); !s.ok()) return s;
  if (f.unassigned && !f.assignee_id.empty()) {
    return Invalid("filter.unassigned", "must not be combined with filter.assignee_id");
  }
  if (f.created_after && f.created_before && *f.created_after >= *f.created_before) {
    return Invalid("filter.created_before", "must be after filter.created_after");
  }
  return absl::OkStatus();
}

bool IsLegalTransition(TicketStatus from, TicketStatus to) {
  using S = TicketStatus;
  switch (from) {
    case S::kNew:
      return to == S::kOpen;
    case S::kOpen:
      return to == S::kPending || to == S::kOnHold || to == S::kSolved;
    case S::kPending:
    case S::kOnHold:
      return to == S::kOpen;
    case S::kSolved:
      return to == S::kClosed || to == S::kOpen;
    case S::kClosed:
    case S::kUnspecified:
      return false;
  }
  return false;
}

absl::Status CheckTransition(TicketStatus from, TicketStatus to) {
  if (IsLegalTransition(from, to)) return absl::OkStatus();
  return absl::FailedPreconditionError(
      absl::StrCat("status: a ticket cannot move from ", StatusName(from), " to ", StatusName(to),
                   from == TicketStatus::kClosed ? " (CLOSED is final)" : ""));
}

bool IsKnownStatus(TicketStatus s) { return static_cast<int>(s) >= 1 && static_cast<int>(s) <= 6; }
bool IsKnownPriority(Priority p) { return static_cast<int>(p) >= 1 && static_cast<int>(p) <= 4; }
bool IsKnownChannel(Channel c) { return static_cast<int>(c) >= 1 && static_cast<int>(c) <= 5; }

std::string StatusName(TicketStatus status) {
  static constexpr const char* kNames[] = {"TICKET_STATUS_UNSPECIFIED", "TICKET_STATUS_NEW",
                                           "TICKET_STATUS_OPEN",        "TICKET_STATUS_PENDING",
                                           "TICKET_STATUS_ON_HOLD",     "TICKET_STATUS_SOLVED",
                                           "TICKET_STATUS_CLOSED"};
  int i = static_cast<int>(status);
  return i >= 0 && i <= 6 ? kNames[i] : absl::StrCat("TICKET_STATUS_", i);
}

std::string PriorityName(Priority priority) {
  static constexpr const char* kNames[] = {"PRIORITY_UNSPECIFIED", "PRIORITY_LOW",
                                           "PRIORITY_NORMAL", "PRIORITY_HIGH", "PRIORITY_URGENT"};
  int i = static_cast<int>(priority);
  return i >= 0 && i <= 4 ? kNames[i] : absl::StrCat("PRIORITY_", i);
}

std::string ChannelName(Channel channel) {
  static constexpr const char* kNames[] = {"CHANNEL_UNSPECIFIED", "CHANNEL_EMAIL", "CHANNEL_WEB",
                                           "CHANNEL_PHONE",       "CHANNEL_CHAT",  "CHANNEL_API"};
  int i = static_cast<int>(channel);
  return i >= 0 && i <= 5 ? kNames[i] : absl::StrCat("CHANNEL_", i);
}

std::string JsonQuote(absl::string_view s) { return absl::StrCat("\"", log::JsonEscape(s), "\""); }

std::string JsonStringList(const std::vector<std::string>& values) {
  return absl::StrCat(
      "[",
      absl::StrJoin(values, ",",
                    [](std::string* out, const std::string& v) { out->append(JsonQuote(v)); }),
      "]");
}

std::string JsonStringMap(const std::map<std::string, std::string>& values) {
  return absl::StrCat("{",
                      absl::StrJoin(values, ",",
                                    [](std::string* out, const auto& kv) {
                                      absl::StrAppend(out, JsonQuote(kv.first), ":",
                                                      JsonQuote(kv.second));
                                    }),
                      "}");
}

std::string JsonTime(const std::optional<absl::Time>& t) {
  if (!t) return "null";
  return JsonQuote(absl::FormatTime("%Y-%m-%dT%H:%M:%E*SZ", *t, absl::UTCTimeZone()));
}

}  // namespace sundesk::ticket
