#include "services/routing/domain/routing_policy.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "libs/core/ids.h"
#include "libs/core/status.h"

namespace sundesk::routing {
namespace {

absl::Status Invalid(absl::string_view field, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", why));
}

absl::Status CheckTenantId(absl::string_view field, absl::string_view tenant_id) {
  if (tenant_id.empty()) return Invalid(field, "must be set");
  return absl::OkStatus();
}

absl::Status TenantNotFound(absl::string_view tenant_id) {
  return absl::NotFoundError(
      absl::StrCat("tenant '", absl::CHexEscape(tenant_id.substr(0, 64)), "' not found"));
}

}  // namespace

std::string PolicyEtag(const StoredRoutingPolicy& stored) {
  return stored.version == 0 ? "" : absl::StrCat("v", stored.version);
}

absl::Status ValidateRoutingPolicy(const RoutingPolicy& p) {
  if (p.overflow_stages.size() > kMaxOverflowStages) {
    return Invalid(
        "routing_policy.overflow_stages",
        absl::StrCat("at most ", kMaxOverflowStages, " stages, has ", p.overflow_stages.size()));
  }
  for (size_t i = 0; i < p.overflow_stages.size(); ++i) {
    const OverflowStage& s = p.overflow_stages[i];
    const std::string field = absl::StrCat("routing_policy.overflow_stages[", i, "]");
    if (s.after_seconds < 1) {
      return Invalid(absl::StrCat(field, ".after_seconds"), "must be at least 1");
    }
    if (i > 0 && s.after_seconds <= p.overflow_stages[i - 1].after_seconds) {
      return Invalid(absl::StrCat(field, ".after_seconds"),
                     "must be greater than the previous stage's (strictly increasing)");
    }
    if (s.relax != OverflowRelax::kAnyProficientLanguage &&
        s.relax != OverflowRelax::kSkillsOptional && s.relax != OverflowRelax::kNextTier) {
      return Invalid(absl::StrCat(field, ".relax"),
                     "must be ANY_PROFICIENT_LANGUAGE, SKILLS_OPTIONAL or NEXT_TIER");
    }
  }
  if (p.offer_timeout < kMinOfferTimeout || p.offer_timeout > kMaxOfferTimeout) {
    return Invalid("routing_policy.offer_timeout",
                   absl::StrCat("must be 5s to 1h, is ", absl::FormatDuration(p.offer_timeout)));
  }
  if (p.min_language_proficiency < 1 || p.min_language_proficiency > 5) {
    return Invalid("routing_policy.min_language_proficiency",
                   absl::StrCat("must be 1-5, is ", p.min_language_proficiency));
  }
  return absl::OkStatus();
}

absl::StatusOr<StoredRoutingPolicy> RoutingPolicies::Current(absl::string_view tenant_id) {
  // Tenant ids are UUIDs; anything else names no tenant.
  if (!IsUuid(tenant_id)) return TenantNotFound(tenant_id);
  SUNDESK_RETURN_IF_ERROR(tenants_.GetTenant(tenant_id).status());
  SUNDESK_ASSIGN_OR_RETURN(std::optional<StoredRoutingPolicy> stored, store_.Get(tenant_id));
  if (stored.has_value()) return *std::move(stored);
  StoredRoutingPolicy def;
  def.policy.tenant_id = std::string(tenant_id);
  return def;
}

absl::StatusOr<StoredRoutingPolicy> RoutingPolicies::Get(absl::string_view tenant_id) {
  SUNDESK_RETURN_IF_ERROR(CheckTenantId("tenant_id", tenant_id));
  return Current(tenant_id);
}

absl::StatusOr<StoredRoutingPolicy> RoutingPolicies::Update(
    const RoutingPolicy& changes, const std::vector<std::string>& update_mask,
    absl::string_view etag) {
  SUNDESK_RETURN_IF_ERROR(CheckTenantId("routing_policy.tenant_id", changes.tenant_id));
  if (update_mask.empty()) return Invalid("update_mask", "must name at least one field");
  for (const std::string& path : update_mask) {
    if (path != "overflow_stages" && path != "offer_timeout" &&
        path != "min_language_proficiency") {
      return Invalid("update_mask",
                     absl::StrCat("'", absl::CHexEscape(path.substr(0, 64)),
                                  "' is not updatable (overflow_stages, offer_timeout, "
                                  "min_language_proficiency)"));
    }
  }
  // Without an etag, a concurrent update is retried on the new version rather than lost.
  constexpr int kAttempts = 5;
  for (int attempt = 1;; ++attempt) {
    SUNDESK_ASSIGN_OR_RETURN(StoredRoutingPolicy stored, Current(changes.tenant_id));
    if (!etag.empty() && etag != PolicyEtag(stored)) {
      return absl::AbortedError(absl::StrCat("etag: stale (the policy is at '", PolicyEtag(stored),
                                             "'); re-read and retry"));
    }
    for (const std::string& path : update_mask) {
      if (path == "overflow_stages") stored.policy.overflow_stages = changes.overflow_stages;
      if (path == "offer_timeout") stored.policy.offer_timeout = changes.offer_timeout;
      if (path == "min_language_proficiency") {
        stored.policy.min_language_proficiency = changes.min_language_proficiency;
      }
    }
    SUNDESK_RETURN_IF_ERROR(ValidateRoutingPolicy(stored.policy));
    const int64_t expected = stored.version;
    stored.version = expected + 1;
    // PostgreSQL keeps microseconds: the answer must equal a later read.
    stored.update_time = absl::FromUnixMicros(absl::ToUnixMicros(clock_.Now()));
    absl::Status put = store_.Put(stored, expected);
    if (put.ok()) return stored;
    if (absl::IsAborted(put) && etag.empty() && attempt < kAttempts) continue;
    return put;
  }
}

}  // namespace sundesk::routing
