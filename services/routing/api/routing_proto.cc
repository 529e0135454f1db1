#include "services/routing/api/routing_proto.h"

#include "absl/strings/str_cat.h"

namespace sundesk::routing {

void SetTimestamp(absl::Time t, google::protobuf::Timestamp* out) {
  const int64_t seconds = absl::ToUnixSeconds(t);
  out->set_seconds(seconds);
  out->set_nanos(static_cast<int32_t>((t - absl::FromUnixSeconds(seconds)) / absl::Nanoseconds(1)));
}

absl::StatusOr<absl::Time> FromTimestamp(absl::string_view field,
                                         const google::protobuf::Timestamp& ts) {
  // The range of google.protobuf.Timestamp: 0001-01-01 to 9999-12-31.
  if (ts.nanos() < 0 || ts.nanos() > 999'999'999 || ts.seconds() < -62'135'596'800 ||
      ts.seconds() > 253'402'300'799) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": not a valid timestamp"));
  }
  return absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
}

absl::StatusOr<Agent> AgentFromProto(const v1::Agent& p) {
  Agent a;
  a.agent_id = p.agent_id();
  a.display_name = p.display_name();
  for (const auto& l : p.languages()) a.languages.push_back({l.code(), l.proficiency()});
  for (const auto& s : p.skills()) a.skills.push_back({s.name(), s.level()});
  for (int i = 0; i < p.certifications_size(); ++i) {
    const v1::Certification& c = p.certifications(i);
    Certification cert{c.tenant_id(), std::nullopt};
    if (c.has_expire_time()) {
      absl::StatusOr<absl::Time> t =
          FromTimestamp(absl::StrCat("agent.certifications[", i, "].expire_time"), c.expire_time());
      if (!t.ok()) return t.status();
      cert.expire_time = *t;
    }
    a.certifications.push_back(std::move(cert));
  }
  a.capacity = p.capacity();
  a.time_zone = p.time_zone();
  for (const auto& s : p.shifts()) a.shifts.push_back({s.weekday(), s.start(), s.end()});
  a.tier = p.tier();
  a.disabled = p.disabled();
  return a;
}

void AgentToProto(const Agent& a, v1::Agent* p) {
  p->set_agent_id(a.agent_id);
  p->set_display_name(a.display_name);
  for (const auto& l : a.languages) {
    auto* out = p->add_languages();
    out->set_code(l.code);
    out->set_proficiency(l.proficiency);
  }
  for (const auto& s : a.skills) {
    auto* out = p->add_skills();
    out->set_name(s.name);
    out->set_level(s.level);
  }
  for (const auto& c : a.certifications) {
    auto* out = p->add_certifications();
    out->set_tenant_id(c.tenant_id);
    if (c.expire_time) SetTimestamp(*c.expire_time, out->mutable_expire_time());
  }
  p->set_capacity(a.capacity);
  p->set_time_zone(a.time_zone);
  for (const auto& s : a.shifts) {
    auto* out = p->add_shifts();
    out->set_weekday(s.weekday);
    out->set_start(s.start);
    out->set_end(s.end);
  }
  p->set_tier(a.tier);
  p->set_disabled(a.disabled);
  p->set_etag(AgentEtag(a));
  SetTimestamp(a.create_time, p->mutable_create_time());
  SetTimestamp(a.update_time, p->mutable_update_time());
}

}  // namespace sundesk::routing
