#include "services/ticket/domain/ticket_rules.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"

namespace sundesk::ticket {
namespace {

absl::Status Invalid(absl::string_view field, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", what));
}

// Valid UTF-8 within `max_chars` code points (and at least `min_chars`).
absl::Status CheckChars(absl::string_view field, absl::string_view value, int min_chars,
                        int max_chars) {
  if (!IsTicketUtf8(value)) return Invalid(field, "must be valid UTF-8 without NUL");
  int64_t n = TicketCharCount(value);
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
  if (!IsTicketUtf8(value)) return Invalid(field, "must be valid UTF-8 without NUL");
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
  if (!IsTicketUtf8(value) || !IsTicketLanguageTag(value)) {
    return Invalid(field, absl::StrCat("must be a BCP 47 language tag (e.g. \"pt-BR\"), got ",
                                       JsonQuote(IsTicketUtf8(value) ? value : "<invalid>")));
  }
  return absl::OkStatus();
}

absl::Status CheckStringList(absl::string_view field, const std::vector<std::string>& values,
                             int max_items, int max_chars) {
  if (static_cast<int>(values.size()) > max_items) {
    return Invalid(field,
                   absl::StrFormat("at most %d entries, got %d", max_items, values.size()));
  }
  for (size_t i = 0; i < values.size(); ++i) {
    if (absl::Status s =
            CheckChars(absl::StrCat(field, "[", i, "]"), values[i], 1, max_chars);
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
  if (!r.time_zone.empty()) {
    absl::TimeZone tz;
    if (!IsTicketUtf8(r.time_zone) || !absl::LoadTimeZone(r.time_zone, &tz)) {
      return Invalid("requester.time_zone", "must be an IANA time zone (e.g. \"Europe/Stockholm\")");
    }
  }
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

bool IsAlpha(absl::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return absl::ascii_isalpha(c); });
}
bool IsDigit(absl::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return absl::ascii_isdigit(c); });
}
bool IsAlnum(absl::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return absl::ascii_isalnum(c); });
}

}  // namespace

std::string TicketEtag(int64_t version) { return absl::StrCat("\"v", version, "\""); }

bool IsTicketUtf8(absl::string_view s) {
  size_t i = 0;
  const size_t n = s.size();
  while (i < n) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == 0) return false;
    if (c < 0x80) {
      ++i;
      continue;
    }
    int len;
    uint32_t cp;
    if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > n) return false;
    for (int k = 1; k < len; ++k) {
      unsigned char cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    // Overlong forms, surrogates, beyond U+10FFFF.
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) {
      return false;
    }
    i += len;
  }
  return true;
}

int64_t TicketCharCount(absl::string_view s) {
  int64_t n = 0;
  for (char c : s) {
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++n;
  }
  return n;
}

bool IsTicketLanguageTag(absl::string_view tag) {
  if (tag.empty() || tag.size() > 64) return false;
  std::vector<absl::string_view> parts = absl::StrSplit(tag, '-');
  for (absl::string_view p : parts) {
    if (p.empty() || p.size() > 8 || !IsAlnum(p)) return false;
  }
  size_t i = 0;
  if (absl::AsciiStrToLower(parts[0]) == "x") {  // private use only
    return parts.size() > 1;
  }
  // language: 2–3 letters (optionally + extlang), or 4–8 letters (registered).
  if (!IsAlpha(parts[0]) || parts[0].size() < 2) return false;
  ++i;
  if (parts[0].size() <= 3) {
    for (int ext = 0; ext < 3 && i < parts.size() && parts[i].size() == 3 && IsAlpha(parts[i]);
         ++ext) {
      ++i;
    }
  }
  if (i < parts.size() && parts[i].size() == 4 && IsAlpha(parts[i])) ++i;  // script
  if (i < parts.size() && ((parts[i].size() == 2 && IsAlpha(parts[i])) ||
                           (parts[i].size() == 3 && IsDigit(parts[i])))) {
    ++i;  // region
  }
  while (i < parts.size() && ((parts[i].size() >= 5) ||
                              (parts[i].size() == 4 && absl::ascii_isdigit(parts[i][0])))) {
    ++i;  // variants
  }
  while (i < parts.size() && parts[i].size() == 1) {
    if (absl::AsciiStrToLower(parts[i]) == "x") {
      return i + 1 < parts.size();  // the rest is private use
    }
    ++i;  // extension singleton, then 2–8 char subtags
    size_t start = i;
    while (i < parts.size() && parts[i].size() >= 2) ++i;
    if (i == start) return false;
  }
  return i == parts.size();
}

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
      new std::vector<std::string>{"subject",         "description", "priority", "tags",
                                   "custom_fields",   "category",    "language",
                                   "required_skills"};
  return *fields;
}

absl::Status ValidateUpdate(const UpdateTicketInput& in, const TicketLimits& limits) {
  if (auto s = CheckId("ticket.ticket_id", in.ticket_id, limits); !s.ok()) return s;
  if (in.paths.empty()) return Invalid("update_mask", "must name at least one field");
  const auto& updatable = UpdatableTicketFields();
  const Ticket& v = in.values;
  for (const std::string& path : in.paths) {
    if (std::find(updatable.begin(), updatable.end(), path) == updatable.end()) {
      return Invalid("update_mask",
                     absl::StrCat(JsonQuote(IsTicketUtf8(path) ? path : "<invalid>"),
                                  " is not updatable (updatable: ", absl::StrJoin(updatable, ", "),
                                  ")"));
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

absl::StatusOr<int> ResolvePageSize(int32_t page_size, int default_size,
                                    const TicketLimits& limits) {
  if (page_size < 0) {
    return Invalid("page_size", absl::StrCat("must be 0–", limits.max_page_size, ", got ",
                                             page_size));
  }
  if (page_size == 0) return default_size;
  return std::min<int>(page_size, limits.max_page_size);
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

bool IsKnownStatus(TicketStatus s) {
  return static_cast<int>(s) >= 1 && static_cast<int>(s) <= 6;
}
bool IsKnownPriority(Priority p) { return static_cast<int>(p) >= 1 && static_cast<int>(p) <= 4; }
bool IsKnownChannel(Channel c) { return static_cast<int>(c) >= 1 && static_cast<int>(c) <= 5; }

std::string StatusName(TicketStatus status) {
  static constexpr const char* kNames[] = {
      "TICKET_STATUS_UNSPECIFIED", "TICKET_STATUS_NEW",    "TICKET_STATUS_OPEN",
      "TICKET_STATUS_PENDING",     "TICKET_STATUS_ON_HOLD", "TICKET_STATUS_SOLVED",
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

std::string JsonQuote(absl::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += absl::StrFormat("\\u%04x", static_cast<unsigned char>(c));
        } else {
          out += c;
        }
    }
  }
  out += "\"";
  return out;
}

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
