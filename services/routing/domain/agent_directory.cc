#include "services/routing/domain/agent_directory.h"

#include <openssl/evp.h>

#include <optional>
#include <set>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "libs/core/status.h"
#include "libs/api/validation.h"

namespace sundesk::routing {
namespace {

using api::CheckLanguageTag;
using api::CheckRequestId;
using api::CheckText;
using api::CheckTimeZone;

absl::Status Invalid(absl::string_view field, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", why));
}

absl::Status AgentNotFound(absl::string_view agent_id) {
  return absl::NotFoundError(
      absl::StrCat("agent '", absl::CHexEscape(agent_id.substr(0, 64)), "' not found"));
}

bool IsAgentIdChars(absl::string_view id) {
  for (char c : id) {
    if (!(absl::ascii_islower(static_cast<unsigned char>(c)) ||
          absl::ascii_isdigit(static_cast<unsigned char>(c)) || c == '-')) {
      return false;
    }
  }
  return !id.empty() && id.size() <= kMaxAgentIdChars;
}

absl::Status CheckLevel(absl::string_view field, int level) {
  if (level < 1 || level > 5) return Invalid(field, absl::StrCat("must be 1-5, is ", level));
  return absl::OkStatus();
}

// A digest of what a CreateAgent request asked for, so a replay with another body is told
// apart from a retry.
std::string AgentRequestHash(const Agent& a) {
  std::string c;
  auto add = [&](absl::string_view s) { absl::StrAppend(&c, s.size(), ":", s, ";"); };
  add(a.agent_id);
  add(a.display_name);
  absl::StrAppend(&c, "L", a.languages.size());
  for (const auto& l : a.languages) {
    add(l.code);
    absl::StrAppend(&c, l.proficiency, ";");
  }
  absl::StrAppend(&c, "S", a.skills.size());
  for (const auto& s : a.skills) {
    add(s.name);
    absl::StrAppend(&c, s.level, ";");
  }
  absl::StrAppend(&c, "C", a.certifications.size());
  for (const auto& cert : a.certifications) {
    add(cert.tenant_id);
    absl::StrAppend(&c, cert.expire_time ? absl::ToUnixMicros(*cert.expire_time) : -1, ";");
  }
  absl::StrAppend(&c, "cap", a.capacity, ";");
  add(a.time_zone);
  absl::StrAppend(&c, "W", a.shifts.size());
  for (const auto& s : a.shifts) {
    absl::StrAppend(&c, s.weekday, ";");
    add(s.start);
    add(s.end);
  }
  absl::StrAppend(&c, "T", a.tier, a.disabled ? "D" : "E");
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(c.data(), c.size(), digest, &size, EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<const char*>(digest), size);
}

// Position "<agent_id>|<display_name>": agent ids never contain '|'.
std::string EncodePosition(const Agent& a) { return absl::StrCat(a.agent_id, "|", a.display_name); }

std::optional<AgentPosition> DecodePosition(absl::string_view position) {
  std::pair<absl::string_view, absl::string_view> parts =
      absl::StrSplit(position, absl::MaxSplits('|', 1));
  if (!IsAgentIdChars(parts.first)) return std::nullopt;
  return AgentPosition{std::string(parts.second), std::string(parts.first)};
}

// The filter is part of the query a page token is bound to.
std::string ListQuery(const AgentFilter& f) {
  std::string q = "ListAgents;order=display_name,agent_id";
  auto add = [&](absl::string_view s) { absl::StrAppend(&q, ";", s.size(), ":", s); };
  add(f.tenant_id);
  add(absl::AsciiStrToLower(f.language));
  add(f.skill);
  absl::StrAppend(&q, ";", f.tier, ";", f.include_disabled ? 1 : 0);
  return q;
}

// PostgreSQL keeps microseconds: what a call returns must equal what a later read returns.
absl::Time ToMicros(absl::Time t) { return absl::FromUnixMicros(absl::ToUnixMicros(t)); }

void TruncateTimes(Agent& a) {
  for (Certification& c : a.certifications) {
    if (c.expire_time) c.expire_time = ToMicros(*c.expire_time);
  }
}

}  // namespace

std::string AgentEtag(const Agent& agent) { return absl::StrCat("v", agent.version); }

absl::StatusOr<int> ParseClockTime(absl::string_view field, absl::string_view hh_mm) {
  int hours = 0;
  int minutes = 0;
  if (hh_mm.size() != 5 || hh_mm[2] != ':' || !absl::ascii_isdigit(hh_mm[0]) ||
      !absl::ascii_isdigit(hh_mm[1]) || !absl::ascii_isdigit(hh_mm[3]) ||
      !absl::ascii_isdigit(hh_mm[4]) || !absl::SimpleAtoi(hh_mm.substr(0, 2), &hours) ||
      !absl::SimpleAtoi(hh_mm.substr(3, 2), &minutes) || hours > 23 || minutes > 59) {
    return Invalid(field, absl::StrCat("'", absl::CHexEscape(hh_mm.substr(0, 16)),
                                       "' is not a time \"HH:MM\" (00:00-23:59)"));
  }
  return hours * 60 + minutes;
}

absl::Status CheckAgentId(absl::string_view field, absl::string_view agent_id) {
  if (!IsAgentIdChars(agent_id)) {
    return Invalid(field, absl::StrCat("'", absl::CHexEscape(agent_id.substr(0, 64)),
                                       "' is not an agent id (1-63 chars of [a-z0-9-])"));
  }
  return absl::OkStatus();
}

absl::Status ValidateAgent(const Agent& a) {
  SUNDESK_RETURN_IF_ERROR(CheckText("agent.display_name", a.display_name, 1, kMaxDisplayNameChars));
  if (a.languages.empty()) return Invalid("agent.languages", "must list at least one language");
  if (a.languages.size() > kMaxAgentLanguages) {
    return Invalid("agent.languages", absl::StrCat("at most ", kMaxAgentLanguages, " languages"));
  }
  std::set<std::string> seen;
  for (size_t i = 0; i < a.languages.size(); ++i) {
    const std::string field = absl::StrCat("agent.languages[", i, "]");
    SUNDESK_RETURN_IF_ERROR(CheckLanguageTag(absl::StrCat(field, ".code"), a.languages[i].code));
    SUNDESK_RETURN_IF_ERROR(
        CheckLevel(absl::StrCat(field, ".proficiency"), a.languages[i].proficiency));
    if (!seen.insert(absl::AsciiStrToLower(a.languages[i].code)).second) {
      return Invalid(absl::StrCat(field, ".code"), "listed twice");
    }
  }
  if (a.skills.size() > kMaxAgentSkills) {
    return Invalid("agent.skills", absl::StrCat("at most ", kMaxAgentSkills, " skills"));
  }
  seen.clear();
  for (size_t i = 0; i < a.skills.size(); ++i) {
    const std::string field = absl::StrCat("agent.skills[", i, "]");
    SUNDESK_RETURN_IF_ERROR(
        CheckText(absl::StrCat(field, ".name"), a.skills[i].name, 1, kMaxSkillNameChars));
    SUNDESK_RETURN_IF_ERROR(CheckLevel(absl::StrCat(field, ".level"), a.skills[i].level));
    if (!seen.insert(a.skills[i].name).second) {
      return Invalid(absl::StrCat(field, ".name"), "listed twice");
    }
  }
  if (a.certifications.size() > kMaxCertifications) {
    return Invalid("agent.certifications",
                   absl::StrCat("at most ", kMaxCertifications, " certifications"));
  }
  seen.clear();
  for (size_t i = 0; i < a.certifications.size(); ++i) {
    const std::string field = absl::StrCat("agent.certifications[", i, "].tenant_id");
    const std::string& tenant = a.certifications[i].tenant_id;
    if (tenant.empty()) return Invalid(field, "must be set");
    // Tenant ids are UUIDs (TenantService makes them).
    if (!IsUuid(tenant)) {
      return Invalid(field, absl::StrCat("'", absl::CHexEscape(tenant.substr(0, 64)),
                                         "' is not a tenant id (a UUID)"));
    }
    if (!seen.insert(tenant).second) return Invalid(field, "listed twice");
  }
  if (a.capacity < 1 || a.capacity > kMaxCapacity) {
    return Invalid("agent.capacity", absl::StrCat("must be 1-", kMaxCapacity,
                                                  " concurrent tickets, is ", a.capacity));
  }
  SUNDESK_RETURN_IF_ERROR(CheckTimeZone("agent.time_zone", a.time_zone));
  if (a.shifts.size() > kMaxShifts) {
    return Invalid("agent.shifts", absl::StrCat("at most ", kMaxShifts, " shifts"));
  }
  for (size_t i = 0; i < a.shifts.size(); ++i) {
    const std::string field = absl::StrCat("agent.shifts[", i, "]");
    if (a.shifts[i].weekday < 1 || a.shifts[i].weekday > 7) {
      return Invalid(absl::StrCat(field, ".weekday"),
                     absl::StrCat("must be 1 (Monday) to 7 (Sunday), is ", a.shifts[i].weekday));
    }
    SUNDESK_RETURN_IF_ERROR(
        ParseClockTime(absl::StrCat(field, ".start"), a.shifts[i].start).status());
    SUNDESK_RETURN_IF_ERROR(ParseClockTime(absl::StrCat(field, ".end"), a.shifts[i].end).status());
  }
  if (a.tier < 1 || a.tier > kMaxTier) {
    return Invalid("agent.tier", absl::StrCat("must be 1-", kMaxTier, ", is ", a.tier));
  }
  return absl::OkStatus();
}

absl::StatusOr<Agent> AgentDirectory::CreateAgent(absl::string_view request_id, Agent agent,
                                                  absl::string_view agent_id) {
  SUNDESK_RETURN_IF_ERROR(CheckRequestId("request_id", request_id));
  if (!agent_id.empty()) SUNDESK_RETURN_IF_ERROR(CheckAgentId("agent_id", agent_id));
  if (agent.tier == 0) agent.tier = 1;  // unset: first line
  SUNDESK_RETURN_IF_ERROR(ValidateAgent(agent));
  TruncateTimes(agent);
  const absl::Time now = ToMicros(clock_.Now());
  // The hash covers the caller's id choice but not a server-chosen one.
  agent.agent_id = std::string(agent_id);
  const std::string request_hash = AgentRequestHash(agent);
  if (agent_id.empty()) agent.agent_id = ids_.NewId();
  agent.version = 1;
  agent.create_time = now;
  agent.update_time = now;
  SUNDESK_ASSIGN_OR_RETURN(CreatedAgent result,
                           store_.CreateAgent(agent, request_id, request_hash));
  if (!result.created && result.request_hash != request_hash) {
    return absl::AlreadyExistsError(
        absl::StrCat("request_id: already used to create agent ", result.agent.agent_id,
                     " with a different body; use a new request_id for a new agent"));
  }
  return std::move(result.agent);
}

absl::StatusOr<Agent> AgentDirectory::GetAgent(absl::string_view agent_id) {
  if (agent_id.empty()) return Invalid("agent_id", "must be set");
  if (!IsAgentIdChars(agent_id)) return AgentNotFound(agent_id);
  return store_.GetAgent(agent_id);
}

absl::StatusOr<AgentPage> AgentDirectory::ListAgents(absl::string_view scope,
                                                     const AgentFilter& filter, int64_t page_size,
                                                     absl::string_view page_token) {
  SUNDESK_ASSIGN_OR_RETURN(int limit, api::ResolvePageSize("page_size", page_size));
  if (!filter.tenant_id.empty() && !IsUuid(filter.tenant_id)) {
    return Invalid("filter.tenant_id",
                   absl::StrCat("'", absl::CHexEscape(filter.tenant_id.substr(0, 64)),
                                "' is not a tenant id (a UUID)"));
  }
  if (!filter.language.empty()) {
    SUNDESK_RETURN_IF_ERROR(CheckLanguageTag("filter.language", filter.language));
  }
  if (!filter.skill.empty()) {
    SUNDESK_RETURN_IF_ERROR(CheckText("filter.skill", filter.skill, 1, kMaxSkillNameChars));
  }
  if (filter.tier < 0 || filter.tier > kMaxTier) {
    return Invalid("filter.tier", absl::StrCat("must be 0 (any) or 1-", kMaxTier));
  }
  const std::string query = ListQuery(filter);
  std::optional<AgentPosition> after;
  if (!page_token.empty()) {
    SUNDESK_ASSIGN_OR_RETURN(std::string position,
                             page_tokens_.Verify("page_token", scope, query, page_token));
    after = DecodePosition(position);
    if (!after) return Invalid("page_token", "malformed");
  }
  // One extra row tells whether there is a next page.
  SUNDESK_ASSIGN_OR_RETURN(std::vector<Agent> rows,
                           store_.ListAgents(filter, clock_.Now(), after, limit + 1));
  AgentPage page;
  if (static_cast<int>(rows.size()) > limit) {
    rows.resize(limit);
    page.next_page_token = page_tokens_.Sign(scope, query, EncodePosition(rows.back()));
  }
  page.agents = std::move(rows);
  return page;
}

absl::StatusOr<Agent> AgentDirectory::UpdateAgent(const Agent& changes,
                                                  const std::vector<std::string>& update_mask,
                                                  absl::string_view etag) {
  if (changes.agent_id.empty()) return Invalid("agent.agent_id", "must be set");
  if (update_mask.empty()) return Invalid("update_mask", "must name at least one field");
  static const std::set<std::string> kUpdatable = {"display_name",   "languages", "skills",
                                                   "certifications", "capacity",  "time_zone",
                                                   "shifts",         "tier",      "disabled"};
  for (const std::string& path : update_mask) {
    if (kUpdatable.count(path) == 0) {
      return Invalid("update_mask",
                     absl::StrCat("'", absl::CHexEscape(path.substr(0, 64)),
                                  "' is not updatable (display_name, languages, skills, "
                                  "certifications, capacity, time_zone, shifts, tier, disabled)"));
    }
  }
  if (!IsAgentIdChars(changes.agent_id)) return AgentNotFound(changes.agent_id);
  // Without an etag, a concurrent update is retried on the new version rather than lost.
  constexpr int kAttempts = 5;
  for (int attempt = 1;; ++attempt) {
    SUNDESK_ASSIGN_OR_RETURN(Agent agent, store_.GetAgent(changes.agent_id));
    if (!etag.empty() && etag != AgentEtag(agent)) {
      return absl::AbortedError(
          absl::StrCat("etag: stale (the agent is at ", AgentEtag(agent), "); re-read and retry"));
    }
    for (const std::string& path : update_mask) {
      if (path == "display_name") agent.display_name = changes.display_name;
      if (path == "languages") agent.languages = changes.languages;
      if (path == "skills") agent.skills = changes.skills;
      if (path == "certifications") agent.certifications = changes.certifications;
      if (path == "capacity") agent.capacity = changes.capacity;
      if (path == "time_zone") agent.time_zone = changes.time_zone;
      if (path == "shifts") agent.shifts = changes.shifts;
      if (path == "tier") agent.tier = changes.tier;
      if (path == "disabled") agent.disabled = changes.disabled;
    }
    SUNDESK_RETURN_IF_ERROR(ValidateAgent(agent));
    TruncateTimes(agent);
    absl::StatusOr<Agent> updated = store_.UpdateAgent(agent, ToMicros(clock_.Now()));
    if (absl::IsAborted(updated.status()) && etag.empty() && attempt < kAttempts) continue;
    return updated;
  }
}

}  // namespace sundesk::routing
