#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "libs/core/caller.h"

// What a subscription is, who asks for it, and the storage the domain needs for it. Plain
// C++: no gRPC, SQL or Kafka.
namespace sundesk::notification {

// Who is calling; CLIENT keys carry their tenant (rpc::ToCaller makes it).
using ::sundesk::Caller;
using ::sundesk::CallerRole;

enum class ChannelKind { kWebhook = 1, kEmail = 2 };

// A tenant's standing request to be told of events of `event_types` (empty: all).
struct Subscription {
  std::string subscription_id;
  std::string tenant_id;
  std::vector<std::string> event_types;
  ChannelKind channel = ChannelKind::kWebhook;
  std::string target;  // the webhook URL, or the email address
  // The webhook's HMAC key, on the way in only: the store keeps it (sealed when keys are
  // configured) for the sender to sign with, and never reads it back into a Subscription;
  // responses omit it.
  std::string secret;
  std::string display_name;
  absl::Time create_time = absl::InfinitePast();
};

// Whether `subscription` wants events of `event_type`.
bool Wants(const Subscription& subscription, const std::string& event_type);

// AIP-155: a create remembered by (tenant, request_id) with a fingerprint of its body. The
// fingerprint leaves the webhook secret out (a digest of it could be checked against
// guesses): a replay's secret is compared with the stored one by the store instead.
struct CreateRecord {
  std::string request_id;
  std::string fingerprint;
};

struct StoredSubscription {
  Subscription subscription;
  // True when the request_id was seen before: `subscription` is the earlier one.
  bool replayed = false;
  // Of the earlier request, when replayed; empty for a record whose fingerprint was
  // removed (written before fingerprints left the secret out, see migration 0008).
  std::string fingerprint;
  // When replayed: whether this request's webhook secret equals the earlier one's (as
  // stored, sealed or not; two emails have none and are equal).
  bool same_secret = true;
};

class SubscriptionStore {
 public:
  virtual ~SubscriptionStore() = default;
  // Inserts `subscription`, or, when `record` names a request_id the tenant used before
  // (deleted subscriptions included), returns that request's subscription instead, with
  // whether `subscription.secret` is the one stored with it.
  virtual absl::StatusOr<StoredSubscription> CreateSubscription(
      const Subscription& subscription, const std::optional<CreateRecord>& record) = 0;
  // Live subscriptions of `tenant_id` with ids after `after_id` (empty: from the first),
  // oldest first (ids are UUIDv7, so id order is creation order), at most `limit`.
  virtual absl::StatusOr<std::vector<Subscription>> ListSubscriptions(const std::string& tenant_id,
                                                                      const std::string& after_id,
                                                                      int limit) = 0;
  // The live subscription, or nullopt when missing or deleted.
  virtual absl::StatusOr<std::optional<Subscription>> GetSubscription(
      const std::string& subscription_id) = 0;
  // Marks it deleted and drops its undelivered deliveries; false when it was not live.
  virtual absl::StatusOr<bool> DeleteSubscription(const std::string& tenant_id,
                                                  const std::string& subscription_id,
                                                  absl::Time now) = 0;
};

}  // namespace sundesk::notification
