#pragma once

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "services/ticket/domain/tenant.h"

namespace sundesk::ticket::testing {

// An in-memory TenantStore for unit tests; `down` makes every call UNAVAILABLE and
// `lookups` counts FindApiKey calls.
class FakeTenantStore final : public TenantStore {
 public:
  absl::StatusOr<CreatedTenant> CreateTenant(const Tenant& tenant, absl::string_view request_id,
                                             absl::string_view request_hash) override {
    absl::MutexLock lock(&mu_);
    if (down) return absl::UnavailableError("down");
    if (!request_id.empty()) {
      auto it = by_request_.find(std::string(request_id));
      if (it != by_request_.end()) {
        return CreatedTenant{tenants_[it->second.first], it->second.second, false};
      }
    }
    for (const auto& [id, t] : tenants_) {
      if (t.name == tenant.name) return absl::AlreadyExistsError("tenant.name: taken");
    }
    tenants_[tenant.tenant_id] = tenant;
    if (!request_id.empty()) {
      by_request_[std::string(request_id)] = {tenant.tenant_id, std::string(request_hash)};
    }
    return CreatedTenant{tenant, std::string(request_hash), true};
  }
  absl::StatusOr<Tenant> GetTenant(absl::string_view tenant_id) override {
    absl::MutexLock lock(&mu_);
    if (down) return absl::UnavailableError("down");
    auto it = tenants_.find(std::string(tenant_id));
    if (it == tenants_.end()) return absl::NotFoundError("tenant not found");
    return it->second;
  }
  absl::StatusOr<std::vector<Tenant>> ListTenants(const std::optional<TenantPosition>& after,
                                                  int limit) override {
    absl::MutexLock lock(&mu_);
    std::vector<Tenant> all;
    for (const auto& [id, t] : tenants_) {
      if (!after || t.name > after->name) all.push_back(t);
    }
    std::sort(all.begin(), all.end(),
              [](const Tenant& a, const Tenant& b) { return a.name < b.name; });
    if (static_cast<int>(all.size()) > limit) all.resize(limit);
    return all;
  }
  absl::StatusOr<Tenant> UpdateTenant(const Tenant& tenant, absl::Time update_time) override {
    absl::MutexLock lock(&mu_);
    auto it = tenants_.find(tenant.tenant_id);
    if (it == tenants_.end()) return absl::NotFoundError("tenant not found");
    if (it->second.version != tenant.version) return absl::AbortedError("etag: stale");
    it->second = tenant;
    it->second.version++;
    it->second.update_time = update_time;
    return it->second;
  }
  absl::StatusOr<ApiKey> CreateApiKey(const StoredApiKey& key,
                                      absl::string_view request_id) override {
    absl::MutexLock lock(&mu_);
    if (key.key.role == KeyRole::kClient && !tenants_.contains(key.key.tenant_id)) {
      return absl::NotFoundError("api_key.tenant_id: not found");
    }
    keys_[key.key.key_id] = key;
    return key.key;
  }
  absl::StatusOr<ApiKey> RevokeApiKey(absl::string_view key_id, absl::Time now) override {
    absl::MutexLock lock(&mu_);
    auto it = keys_.find(std::string(key_id));
    if (it == keys_.end()) return absl::NotFoundError("API key not found");
    if (!it->second.key.revoke_time) it->second.key.revoke_time = now;
    return it->second.key;
  }
  absl::StatusOr<StoredApiKey> FindApiKey(absl::string_view key_id) override {
    absl::MutexLock lock(&mu_);
    ++lookups;
    if (down) return absl::UnavailableError("down");
    auto it = keys_.find(std::string(key_id));
    if (it == keys_.end()) return absl::NotFoundError("API key not found");
    return it->second;
  }

  bool down = false;
  int lookups = 0;

 private:
  absl::Mutex mu_;
  std::map<std::string, Tenant> tenants_;
  std::map<std::string, std::pair<std::string, std::string>> by_request_;
  std::map<std::string, StoredApiKey> keys_;
};

}  // namespace sundesk::ticket::testing
