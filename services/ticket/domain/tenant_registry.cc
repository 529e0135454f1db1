#include "services/ticket/domain/tenant_registry.h"

#include <openssl/evp.h>

#include <optional>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "libs/api/validation.h"
#include "libs/core/status.h"
#include "services/ticket/domain/api_key.h"

namespace sundesk::ticket {
namespace {

// A digest of what a CreateTenant request asked for, so a replay with another body is told
// apart from a retry.
std::string TenantRequestHash(const Tenant& t) {
  std::string canonical;
  auto add = [&](absl::string_view s) { absl::StrAppend(&canonical, s.size(), ":", s, ";"); };
  add(t.name);
  add(t.time_zone);
  add(t.default_language);
  absl::StrAppend(&canonical, t.languages.size(), "[");
  for (const auto& l : t.languages) add(l);
  add(t.guidelines);
  absl::StrAppend(&canonical, static_cast<int>(t.routing_mode));
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(canonical.data(), canonical.size(), digest, &size, EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<const char*>(digest), size);
}

absl::Status CheckTenantId(absl::string_view field, absl::string_view tenant_id) {
  if (tenant_id.empty()) return absl::InvalidArgumentError(absl::StrCat(field, ": must be set"));
  return absl::OkStatus();
}

absl::Status TenantNotFound(absl::string_view tenant_id) {
  return absl::NotFoundError(
      absl::StrCat("tenant '", absl::CHexEscape(tenant_id.substr(0, 64)), "' not found"));
}

// Position: the last tenant's name (unique, so it orders tenants on its own).
std::string EncodePosition(const Tenant& t) { return t.name; }

std::optional<TenantPosition> DecodePosition(absl::string_view position) {
  if (position.empty()) return std::nullopt;
  return TenantPosition{std::string(position)};
}

constexpr absl::string_view kListTenantsQuery = "ListTenants;order=name";

}  // namespace

// The same form as a ticket's: a quoted entity tag, "v<version>".
std::string TenantEtag(const Tenant& tenant) { return absl::StrCat("\"v", tenant.version, "\""); }

absl::Status ValidateTenant(const Tenant& t) {
  SUNDESK_RETURN_IF_ERROR(api::CheckText("tenant.name", t.name, 1, kMaxTenantNameChars));
  SUNDESK_RETURN_IF_ERROR(api::CheckTimeZone("tenant.time_zone", t.time_zone));
  SUNDESK_RETURN_IF_ERROR(api::CheckLanguageTag("tenant.default_language", t.default_language));
  if (t.languages.size() > kMaxTenantLanguages) {
    return absl::InvalidArgumentError(
        absl::StrCat("tenant.languages: at most ", kMaxTenantLanguages, " languages"));
  }
  bool default_listed = false;
  for (size_t i = 0; i < t.languages.size(); ++i) {
    SUNDESK_RETURN_IF_ERROR(
        api::CheckLanguageTag(absl::StrCat("tenant.languages[", i, "]"), t.languages[i]));
    default_listed = default_listed || t.languages[i] == t.default_language;
  }
  if (!t.languages.empty() && !default_listed) {
    return absl::InvalidArgumentError(
        "tenant.default_language: must be one of tenant.languages when languages are given");
  }
  SUNDESK_RETURN_IF_ERROR(
      api::CheckTextBytes("tenant.guidelines", t.guidelines, kMaxGuidelinesBytes));
  if (t.routing_mode != RoutingMode::kOffer && t.routing_mode != RoutingMode::kAutoAssign) {
    return absl::InvalidArgumentError(
        absl::StrCat("tenant.routing_mode: unknown value ", static_cast<int>(t.routing_mode)));
  }
  return absl::OkStatus();
}

absl::StatusOr<Tenant> TenantRegistry::CreateTenant(absl::string_view request_id, Tenant tenant) {
  SUNDESK_RETURN_IF_ERROR(api::CheckRequestId("request_id", request_id));
  if (tenant.routing_mode == RoutingMode::kUnspecified) tenant.routing_mode = RoutingMode::kOffer;
  SUNDESK_RETURN_IF_ERROR(ValidateTenant(tenant));
  const absl::Time now = clock_.Now();
  tenant.tenant_id = ids_.NewId();
  tenant.version = 1;
  tenant.create_time = now;
  tenant.update_time = now;
  const std::string request_hash = TenantRequestHash(tenant);
  SUNDESK_ASSIGN_OR_RETURN(CreatedTenant result,
                           store_.CreateTenant(tenant, request_id, request_hash));
  if (!result.created && result.request_hash != request_hash) {
    return absl::AlreadyExistsError(
        absl::StrCat("request_id: already used to create tenant ", result.tenant.tenant_id,
                     " with a different body; use a new request_id for a new tenant"));
  }
  return std::move(result.tenant);
}

absl::StatusOr<Tenant> TenantRegistry::GetTenant(absl::string_view tenant_id) {
  SUNDESK_RETURN_IF_ERROR(CheckTenantId("tenant_id", tenant_id));
  if (!IsUuid(tenant_id)) return TenantNotFound(tenant_id);
  return store_.GetTenant(tenant_id);
}

absl::StatusOr<TenantPage> TenantRegistry::ListTenants(absl::string_view scope, int64_t page_size,
                                                       absl::string_view page_token) {
  SUNDESK_ASSIGN_OR_RETURN(int limit, api::ResolvePageSize("page_size", page_size));
  std::optional<TenantPosition> after;
  if (!page_token.empty()) {
    SUNDESK_ASSIGN_OR_RETURN(
        std::string position,
        page_tokens_.Verify("page_token", scope, kListTenantsQuery, page_token));
    after = DecodePosition(position);
    if (!after) return absl::InvalidArgumentError("page_token: malformed");
  }
  // One extra row tells whether there is a next page.
  SUNDESK_ASSIGN_OR_RETURN(std::vector<Tenant> rows, store_.ListTenants(after, limit + 1));
  TenantPage page;
  if (static_cast<int>(rows.size()) > limit) {
    rows.resize(limit);
    page.next_page_token = page_tokens_.Sign(scope, kListTenantsQuery, EncodePosition(rows.back()));
  }
  page.tenants = std::move(rows);
  return page;
}

absl::StatusOr<Tenant> TenantRegistry::UpdateTenant(const Tenant& changes,
                                                    const std::vector<std::string>& update_mask,
                                                    absl::string_view etag) {
  SUNDESK_RETURN_IF_ERROR(CheckTenantId("tenant.tenant_id", changes.tenant_id));
  if (update_mask.empty()) {
    return absl::InvalidArgumentError("update_mask: must name at least one field");
  }
  for (const std::string& path : update_mask) {
    if (path != "name" && path != "time_zone" && path != "default_language" &&
        path != "languages" && path != "guidelines" && path != "routing_mode") {
      return absl::InvalidArgumentError(absl::StrCat(
          "update_mask: '", absl::CHexEscape(path.substr(0, 64)),
          "' is not updatable (name, time_zone, default_language, languages, guidelines, "
          "routing_mode)"));
    }
  }
  if (!IsUuid(changes.tenant_id)) return TenantNotFound(changes.tenant_id);
  // Without an etag, a concurrent update is retried on the new version rather than lost.
  constexpr int kAttempts = 5;
  for (int attempt = 1;; ++attempt) {
    SUNDESK_ASSIGN_OR_RETURN(Tenant tenant, store_.GetTenant(changes.tenant_id));
    if (!etag.empty() && etag != TenantEtag(tenant)) {
      return absl::AbortedError(absl::StrCat("etag: stale (the tenant is at ", TenantEtag(tenant),
                                             "); re-read and retry"));
    }
    for (const std::string& path : update_mask) {
      if (path == "name") tenant.name = changes.name;
      if (path == "time_zone") tenant.time_zone = changes.time_zone;
      if (path == "default_language") tenant.default_language = changes.default_language;
      if (path == "languages") tenant.languages = changes.languages;
      if (path == "guidelines") tenant.guidelines = changes.guidelines;
      if (path == "routing_mode") {
        tenant.routing_mode = changes.routing_mode == RoutingMode::kUnspecified
                                  ? RoutingMode::kOffer
                                  : changes.routing_mode;
      }
    }
    SUNDESK_RETURN_IF_ERROR(ValidateTenant(tenant));
    absl::StatusOr<Tenant> updated = store_.UpdateTenant(tenant, clock_.Now());
    if (absl::IsAborted(updated.status()) && etag.empty() && attempt < kAttempts) continue;
    return updated;
  }
}

absl::StatusOr<IssuedApiKey> TenantRegistry::CreateApiKey(absl::string_view request_id,
                                                          const ApiKey& spec) {
  SUNDESK_RETURN_IF_ERROR(api::CheckRequestId("request_id", request_id));
  SUNDESK_RETURN_IF_ERROR(
      api::CheckText("api_key.display_name", spec.display_name, 0, kMaxKeyDisplayNameChars));
  StoredApiKey stored;
  ApiKey& key = stored.key;
  key.role = spec.role;
  key.display_name = spec.display_name;
  switch (spec.role) {
    case KeyRole::kClient:
      if (spec.tenant_id.empty()) {
        return absl::InvalidArgumentError("api_key.tenant_id: required for a ROLE_CLIENT key");
      }
      if (!spec.agent_id.empty()) {
        return absl::InvalidArgumentError("api_key.agent_id: only for ROLE_AGENT keys");
      }
      if (!IsUuid(spec.tenant_id)) {
        return absl::NotFoundError(absl::StrCat("api_key.tenant_id: tenant '",
                                                absl::CHexEscape(spec.tenant_id.substr(0, 64)),
                                                "' not found"));
      }
      key.tenant_id = spec.tenant_id;
      break;
    case KeyRole::kAgent:
      if (spec.agent_id.empty()) {
        return absl::InvalidArgumentError("api_key.agent_id: required for a ROLE_AGENT key");
      }
      if (!spec.tenant_id.empty()) {
        return absl::InvalidArgumentError("api_key.tenant_id: only for ROLE_CLIENT keys");
      }
      SUNDESK_RETURN_IF_ERROR(api::CheckText("api_key.agent_id", spec.agent_id, 1, 128));
      key.agent_id = spec.agent_id;
      break;
    case KeyRole::kAdmin:
      if (!spec.tenant_id.empty() || !spec.agent_id.empty()) {
        return absl::InvalidArgumentError(
            "api_key.tenant_id: a ROLE_ADMIN key has neither tenant_id nor agent_id");
      }
      break;
    default:
      return absl::InvalidArgumentError(
          "api_key.role: must be ROLE_CLIENT, ROLE_AGENT or ROLE_ADMIN");
  }
  const absl::Time now = clock_.Now();
  if (spec.expire_time.has_value() && *spec.expire_time <= now) {
    return absl::InvalidArgumentError("api_key.expire_time: must be in the future");
  }
  key.expire_time = spec.expire_time;
  key.create_time = now;
  key.key_id = ids_.NewId();
  const std::string secret = NewApiKeySecret();
  stored.salt = RandomBytes(kApiKeySaltBytes);
  stored.secret_hash = HashApiKeySecret(stored.salt, secret);
  SUNDESK_ASSIGN_OR_RETURN(ApiKey created, store_.CreateApiKey(stored, request_id));
  return IssuedApiKey{std::move(created), FormatApiKeySecret({key.key_id, secret})};
}

absl::StatusOr<ApiKey> TenantRegistry::RevokeApiKey(absl::string_view key_id) {
  if (key_id.empty()) return absl::InvalidArgumentError("key_id: must be set");
  if (!IsUuid(key_id)) {
    return absl::NotFoundError(
        absl::StrCat("API key '", absl::CHexEscape(key_id.substr(0, 64)), "' not found"));
  }
  return store_.RevokeApiKey(key_id, clock_.Now());
}

}  // namespace sundesk::ticket
