#include "services/ticket/store/pg_tenant_store.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "libs/core/status.h"
#include "libs/pg/errors.h"

namespace sundesk::ticket {
namespace {

// Languages travel as one comma-joined text (string_to_array / array_to_string): tags are
// validated BCP 47 ([A-Za-z0-9-]) before they get here, so they never contain a comma.
constexpr absl::string_view kTenantColumns =
    "tenant_id::text AS tenant_id, name, time_zone, default_language, "
    "array_to_string(languages, ',') AS languages, guidelines, routing_mode, version, "
    "create_time, update_time";

constexpr absl::string_view kKeyColumns =
    "key_id::text AS key_id, role, tenant_id::text AS tenant_id, agent_id, display_name, "
    "create_time, expire_time, revoke_time";

std::optional<std::string> NullIfEmpty(absl::string_view s) {
  if (s.empty()) return std::nullopt;
  return std::string(s);
}

absl::StatusOr<Tenant> TenantFromRow(const pg::Result& r, int row) {
  Tenant t;
  t.tenant_id = std::string(r.Text(row, "tenant_id"));
  t.name = std::string(r.Text(row, "name"));
  t.time_zone = std::string(r.Text(row, "time_zone"));
  t.default_language = std::string(r.Text(row, "default_language"));
  absl::string_view languages = r.Text(row, "languages");
  if (!languages.empty()) t.languages = absl::StrSplit(languages, ',');
  t.guidelines = std::string(r.Text(row, "guidelines"));
  SUNDESK_ASSIGN_OR_RETURN(int64_t mode, r.Int64(row, "routing_mode"));
  t.routing_mode = static_cast<RoutingMode>(mode);
  SUNDESK_ASSIGN_OR_RETURN(t.version, r.Int64(row, "version"));
  SUNDESK_ASSIGN_OR_RETURN(t.create_time, r.Time(row, "create_time"));
  SUNDESK_ASSIGN_OR_RETURN(t.update_time, r.Time(row, "update_time"));
  return t;
}

absl::StatusOr<std::optional<absl::Time>> OptionalTime(const pg::Result& r, int row,
                                                       absl::string_view column) {
  if (r.IsNull(row, column)) return std::optional<absl::Time>();
  SUNDESK_ASSIGN_OR_RETURN(absl::Time t, r.Time(row, column));
  return std::optional<absl::Time>(t);
}

absl::StatusOr<ApiKey> KeyFromRow(const pg::Result& r, int row) {
  ApiKey k;
  k.key_id = std::string(r.Text(row, "key_id"));
  SUNDESK_ASSIGN_OR_RETURN(int64_t role, r.Int64(row, "role"));
  k.role = static_cast<KeyRole>(role);
  k.tenant_id = std::string(r.Text(row, "tenant_id"));
  k.agent_id = std::string(r.Text(row, "agent_id"));
  k.display_name = std::string(r.Text(row, "display_name"));
  SUNDESK_ASSIGN_OR_RETURN(k.create_time, r.Time(row, "create_time"));
  SUNDESK_ASSIGN_OR_RETURN(k.expire_time, OptionalTime(r, row, "expire_time"));
  SUNDESK_ASSIGN_OR_RETURN(k.revoke_time, OptionalTime(r, row, "revoke_time"));
  return k;
}

absl::Status TenantNotFound(absl::string_view tenant_id) {
  return absl::NotFoundError(absl::StrCat("tenant '", tenant_id, "' not found"));
}

absl::Status NameTaken(absl::string_view name) {
  return absl::AlreadyExistsError(
      absl::StrCat("tenant.name: a tenant named '", absl::CHexEscape(name), "' already exists"));
}

}  // namespace

absl::StatusOr<CreatedTenant> PgTenantStore::CreateTenant(const Tenant& t,
                                                          absl::string_view request_id,
                                                          absl::string_view request_hash) {
  SUNDESK_ASSIGN_OR_RETURN(pg::Lease conn, pool_.Acquire());
  auto find_by_request = [&]() -> absl::StatusOr<CreatedTenant> {
    SUNDESK_ASSIGN_OR_RETURN(pg::Result r,
                             conn->Execute(absl::StrCat("SELECT ", kTenantColumns,
                                                        ", request_hash FROM ticket.tenants "
                                                        "WHERE request_id = $1"),
                                           {request_id}));
    if (r.rows() == 0) return absl::NotFoundError("no tenant for this request_id");
    SUNDESK_ASSIGN_OR_RETURN(Tenant existing, TenantFromRow(r, 0));
    SUNDESK_ASSIGN_OR_RETURN(std::string hash, r.Bytea(0, "request_hash"));
    return CreatedTenant{std::move(existing), std::move(hash), false};
  };
  absl::StatusOr<pg::Result> inserted = conn->Execute(
      absl::StrCat("INSERT INTO ticket.tenants (tenant_id, name, time_zone, default_language, "
                   "languages, guidelines, routing_mode, version, request_id, request_hash, "
                   "create_time, update_time) "
                   "VALUES ($1, $2, $3, $4, string_to_array($5, ','), $6, $7, $8, $9, $10, $11, "
                   "$11) ON CONFLICT (request_id) WHERE request_id IS NOT NULL DO NOTHING "
                   "RETURNING ",
                   kTenantColumns),
      {t.tenant_id, t.name, t.time_zone, t.default_language, absl::StrJoin(t.languages, ","),
       t.guidelines, static_cast<int>(t.routing_mode), t.version, NullIfEmpty(request_id),
       request_id.empty() ? pg::Param::Null() : pg::Param::Bytea(request_hash), t.create_time});
  if (!inserted.ok()) {
    if (pg::ConstraintName(inserted.status()) == "tenants_name") {
      // Two racing retries of one request may collide on the name before the request id.
      if (!request_id.empty()) {
        absl::StatusOr<CreatedTenant> existing = find_by_request();
        if (existing.ok() || !absl::IsNotFound(existing.status())) return existing;
      }
      return NameTaken(t.name);
    }
    return inserted.status();
  }
  if (inserted->rows() == 0) return find_by_request();  // request_id seen before
  SUNDESK_ASSIGN_OR_RETURN(Tenant created, TenantFromRow(*inserted, 0));
  return CreatedTenant{std::move(created), std::string(request_hash), true};
}

absl::StatusOr<Tenant> PgTenantStore::GetTenant(absl::string_view tenant_id) {
  SUNDESK_ASSIGN_OR_RETURN(pg::Lease conn, pool_.Acquire());
  SUNDESK_ASSIGN_OR_RETURN(
      pg::Result r, conn->Execute(absl::StrCat("SELECT ", kTenantColumns,
                                               " FROM ticket.tenants WHERE tenant_id = $1::uuid"),
                                  {tenant_id}));
  if (r.rows() == 0) return TenantNotFound(tenant_id);
  return TenantFromRow(r, 0);
}

absl::StatusOr<std::vector<Tenant>> PgTenantStore::ListTenants(
    const std::optional<TenantPosition>& after, int limit) {
  SUNDESK_ASSIGN_OR_RETURN(pg::Lease conn, pool_.Acquire());
  absl::StatusOr<pg::Result> r =
      after.has_value()
          // The unique index tenants_name serves both.
          ? conn->Execute(absl::StrCat("SELECT ", kTenantColumns,
                                       " FROM ticket.tenants WHERE name > $1 ORDER BY name "
                                       "LIMIT $2"),
                          {after->name, limit})
          : conn->Execute(absl::StrCat("SELECT ", kTenantColumns,
                                       " FROM ticket.tenants ORDER BY name LIMIT $1"),
                          {limit});
  if (!r.ok()) return r.status();
  std::vector<Tenant> tenants;
  tenants.reserve(r->rows());
  for (int row = 0; row < r->rows(); ++row) {
    SUNDESK_ASSIGN_OR_RETURN(Tenant t, TenantFromRow(*r, row));
    tenants.push_back(std::move(t));
  }
  return tenants;
}

absl::StatusOr<Tenant> PgTenantStore::UpdateTenant(const Tenant& t, absl::Time update_time) {
  SUNDESK_ASSIGN_OR_RETURN(pg::Lease conn, pool_.Acquire());
  absl::StatusOr<pg::Result> r = conn->Execute(
      absl::StrCat("UPDATE ticket.tenants SET name = $2, time_zone = $3, default_language = $4, "
                   "languages = string_to_array($5, ','), guidelines = $6, routing_mode = $7, "
                   "version = version + 1, update_time = $8 "
                   "WHERE tenant_id = $1::uuid AND version = $9 RETURNING ",
                   kTenantColumns),
      {t.tenant_id, t.name, t.time_zone, t.default_language, absl::StrJoin(t.languages, ","),
       t.guidelines, static_cast<int>(t.routing_mode), update_time, t.version});
  if (!r.ok()) {
    if (pg::ConstraintName(r.status()) == "tenants_name") return NameTaken(t.name);
    return r.status();
  }
  if (r->rows() == 1) return TenantFromRow(*r, 0);
  SUNDESK_ASSIGN_OR_RETURN(
      pg::Result exists,
      conn->Execute("SELECT 1 FROM ticket.tenants WHERE tenant_id = $1::uuid", {t.tenant_id}));
  if (exists.rows() == 0) return TenantNotFound(t.tenant_id);
  return absl::AbortedError("etag: the tenant changed concurrently; re-read and retry");
}

absl::StatusOr<ApiKey> PgTenantStore::CreateApiKey(const StoredApiKey& stored,
                                                   absl::string_view request_id) {
  const ApiKey& k = stored.key;
  SUNDESK_ASSIGN_OR_RETURN(pg::Lease conn, pool_.Acquire());
  absl::StatusOr<pg::Result> r = conn->Execute(
      absl::StrCat("INSERT INTO ticket.api_keys (key_id, role, tenant_id, agent_id, display_name, "
                   "salt, secret_hash, request_id, create_time, expire_time) "
                   "VALUES ($1, $2, $3::uuid, $4, $5, $6, $7, $8, $9, $10) RETURNING ",
                   kKeyColumns),
      {k.key_id, static_cast<int>(k.role), NullIfEmpty(k.tenant_id), NullIfEmpty(k.agent_id),
       k.display_name, pg::Param::Bytea(stored.salt), pg::Param::Bytea(stored.secret_hash),
       NullIfEmpty(request_id), k.create_time, k.expire_time});
  if (!r.ok()) {
    if (pg::SqlState(r.status()) == "23503") {
      return absl::NotFoundError(
          absl::StrCat("api_key.tenant_id: tenant '", k.tenant_id, "' not found"));
    }
    if (pg::ConstraintName(r.status()) == "api_keys_request_id") {
      SUNDESK_ASSIGN_OR_RETURN(
          pg::Result prior,
          conn->Execute("SELECT key_id::text FROM ticket.api_keys WHERE request_id = $1",
                        {request_id}));
      std::string prior_id = prior.rows() > 0 ? std::string(prior.Text(0, 0)) : "?";
      // The secret was shown once and is not kept, so a replay cannot return it.
      return absl::AlreadyExistsError(absl::StrCat(
          "request_id: already issued API key ", prior_id,
          "; its secret is shown only once. If it was lost, revoke that key and create a new "
          "one with a new request_id"));
    }
    return r.status();
  }
  return KeyFromRow(*r, 0);
}

absl::StatusOr<ApiKey> PgTenantStore::RevokeApiKey(absl::string_view key_id, absl::Time now) {
  SUNDESK_ASSIGN_OR_RETURN(pg::Lease conn, pool_.Acquire());
  SUNDESK_ASSIGN_OR_RETURN(
      pg::Result r,
      conn->Execute(absl::StrCat("UPDATE ticket.api_keys SET revoke_time = "
                                 "COALESCE(revoke_time, $2) WHERE key_id = $1::uuid RETURNING ",
                                 kKeyColumns),
                    {key_id, now}));
  if (r.rows() == 0) return absl::NotFoundError(absl::StrCat("API key '", key_id, "' not found"));
  return KeyFromRow(r, 0);
}

absl::StatusOr<StoredApiKey> PgTenantStore::FindApiKey(absl::string_view key_id) {
  SUNDESK_ASSIGN_OR_RETURN(pg::Lease conn, pool_.Acquire());
  SUNDESK_ASSIGN_OR_RETURN(
      pg::Result r,
      conn->Execute(
          absl::StrCat("SELECT ", kKeyColumns,
                       ", salt, secret_hash FROM ticket.api_keys WHERE key_id = $1::uuid"),
          {key_id}));
  if (r.rows() == 0) return absl::NotFoundError("API key not found");
  StoredApiKey stored;
  SUNDESK_ASSIGN_OR_RETURN(stored.key, KeyFromRow(r, 0));
  SUNDESK_ASSIGN_OR_RETURN(stored.salt, r.Bytea(0, "salt"));
  SUNDESK_ASSIGN_OR_RETURN(stored.secret_hash, r.Bytea(0, "secret_hash"));
  return stored;
}

}  // namespace sundesk::ticket
