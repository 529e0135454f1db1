#pragma once

#include <map>
#include <string>
#include <vector>

#include "services/notification/domain/subscription.h"
#include "services/notification/domain/target_rules.h"

namespace sundesk::notification {

// In-memory SubscriptionStore for domain unit tests.
class FakeSubscriptionStore final : public SubscriptionStore {
 public:
  absl::StatusOr<StoredSubscription> CreateSubscription(
      const Subscription& s, const std::optional<CreateRecord>& record) override {
    if (record) {
      auto it = requests_.find(s.tenant_id + "|" + record->request_id);
      if (it != requests_.end()) {
        const Subscription& earlier = rows_.at(it->second.first);
        return StoredSubscription{.subscription = earlier,
                                  .replayed = true,
                                  .fingerprint = it->second.second,
                                  .same_secret = earlier.secret == s.secret};
      }
      requests_[s.tenant_id + "|" + record->request_id] = {s.subscription_id, record->fingerprint};
      fingerprints_.push_back(record->fingerprint);
    }
    rows_[s.subscription_id] = s;
    return StoredSubscription{.subscription = s};
  }
  // Every fingerprint stored, in order (what the database would hold).
  const std::vector<std::string>& fingerprints() const { return fingerprints_; }

  absl::StatusOr<std::vector<Subscription>> ListSubscriptions(const std::string& tenant_id,
                                                              const std::string& after_id,
                                                              int limit) override {
    std::vector<Subscription> out;
    for (const auto& [id, s] : rows_) {
      if (s.tenant_id != tenant_id || deleted_.contains(id) || id <= after_id) continue;
      if (static_cast<int>(out.size()) == limit) break;
      out.push_back(s);
    }
    return out;
  }
  absl::StatusOr<std::optional<Subscription>> GetSubscription(const std::string& id) override {
    auto it = rows_.find(id);
    if (it == rows_.end() || deleted_.contains(id)) return std::nullopt;
    return it->second;
  }
  absl::StatusOr<bool> DeleteSubscription(const std::string& tenant_id, const std::string& id,
                                          absl::Time) override {
    auto it = rows_.find(id);
    if (it == rows_.end() || it->second.tenant_id != tenant_id || deleted_.contains(id)) {
      return false;
    }
    deleted_.insert({id, true});
    return true;
  }

 private:
  std::map<std::string, Subscription> rows_;
  std::map<std::string, bool> deleted_;
  std::map<std::string, std::pair<std::string, std::string>> requests_;
  std::vector<std::string> fingerprints_;
};

// Answers from a fixed table; unknown names do not resolve.
class FakeHostResolver final : public HostResolver {
 public:
  explicit FakeHostResolver(std::map<std::string, std::vector<std::string>> table)
      : table_(std::move(table)) {}
  absl::StatusOr<std::vector<std::string>> Resolve(const std::string& host) const override {
    auto it = table_.find(host);
    if (it == table_.end()) return absl::NotFoundError("no such host");
    return it->second;
  }

 private:
  std::map<std::string, std::vector<std::string>> table_;
};

}  // namespace sundesk::notification
