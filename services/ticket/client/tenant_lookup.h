#pragma once

#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpcpp/channel.h"
#include "libs/core/clock.h"
#include "sundesk/ticket/v1/tenant_service.grpc.pb.h"

// The ticket service's tenants, for the other services (routing reads a tenant's languages,
// guidelines and routing mode; notification checks that an ADMIN's tenant exists). The
// ticket service owns tenants; the others ask it, through one of these.
namespace sundesk::ticket {

class TenantLookup {
 public:
  virtual ~TenantLookup() = default;
  // The tenant; NOT_FOUND ("tenant_id: no tenant ...") when the ticket service has no such tenant;
  // UNAVAILABLE when that cannot be told now. Thread-safe.
  virtual absl::StatusOr<v1::Tenant> GetTenant(absl::string_view tenant_id) = 0;
};

// TenantService.GetTenant with the calling service's SERVICE key, retried while the ticket
// service is unreachable, within `timeout`. A key the ticket service refuses is a
// configuration error and answers UNAVAILABLE, saying so.
class GrpcTenantLookup final : public TenantLookup {
 public:
  GrpcTenantLookup(std::shared_ptr<grpc::Channel> channel, std::string service_key,
                   absl::Duration timeout = absl::Seconds(5));

  absl::StatusOr<v1::Tenant> GetTenant(absl::string_view tenant_id) override;

 private:
  std::unique_ptr<v1::TenantService::Stub> stub_;
  const std::string service_key_;
  const absl::Duration timeout_;
};

struct TenantCacheOptions {
  // A changed tenant (guidelines, routing mode) is seen within this; tenants are never deleted.
  absl::Duration found_ttl = absl::Seconds(5);
  // A tenant created just after a miss is found within this. Zero: misses are not remembered.
  absl::Duration missing_ttl = absl::Seconds(2);
  size_t max_entries = 10000;  // then the cache starts over
};

// Remembers another lookup's answers for their time, so that a busy service asks the ticket
// service about each tenant once per TTL, not once per request. UNAVAILABLE is passed on
// and never remembered. Thread-safe; the remote call runs outside the lock.
class CachedTenantLookup final : public TenantLookup {
 public:
  CachedTenantLookup(TenantLookup& source, const Clock& clock, TenantCacheOptions options = {})
      : source_(source), clock_(clock), options_(options) {}

  absl::StatusOr<v1::Tenant> GetTenant(absl::string_view tenant_id) override;

 private:
  struct Entry {
    absl::StatusOr<v1::Tenant> answer;  // the tenant, or NOT_FOUND
    absl::Time expires;
  };
  TenantLookup& source_;
  const Clock& clock_;
  const TenantCacheOptions options_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, Entry> entries_ ABSL_GUARDED_BY(mu_);
};

}  // namespace sundesk::ticket
