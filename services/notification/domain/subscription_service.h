#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "libs/core/clock.h"
#include "libs/core/ids.h"
#include "services/notification/domain/subscription.h"
#include "services/notification/domain/target_rules.h"
#include "services/notification/domain/tenant_directory.h"
#include "libs/api/page_token.h"

namespace sundesk::notification {

struct SubscriptionOptions {
  // Lets webhooks target loopback, private and link-local addresses: local stacks and
  // tests only (the SSRF guard).
  bool allow_private_targets = false;
};

struct CreateSubscriptionInput {
  std::string request_id;
  std::string tenant_id;
  std::vector<std::string> event_types;
  bool has_webhook = false;
  bool has_email = false;
  std::string webhook_url;
  std::string webhook_secret;
  std::string email_address;
  std::string display_name;
};

struct ListSubscriptionsOutput {
  std::vector<Subscription> subscriptions;
  std::string next_page_token;
};

// The tenant a call acts for: a CLIENT key's own (the request may only repeat it; another
// tenant answers NOT_FOUND, like a missing one); required (a UUID) for ADMIN keys. Other
// roles are PERMISSION_DENIED. Checks the shape only: SubscriptionService::Tenant also
// asks the directory whether an ADMIN's tenant exists.
absl::StatusOr<std::string> ResolveTenant(const Caller& caller, const std::string& requested);

// Subscriptions of a tenant: create (validated, idempotent by request_id), list, delete.
class SubscriptionService {
 public:
  SubscriptionService(SubscriptionStore& store, const Clock& clock, IdGenerator& ids,
                      const api::PageTokenSigner& page_tokens, const HostResolver& resolver,
                      TenantDirectory& tenants, SubscriptionOptions options = {});

  // ResolveTenant, and for an ADMIN key a tenant that exists (else NOT_FOUND naming
  // tenant_id; UNAVAILABLE when the directory cannot tell). A CLIENT key's tenant exists
  // (its key was issued for it).
  absl::StatusOr<std::string> Tenant(const Caller& caller, const std::string& requested);

  absl::StatusOr<Subscription> Create(const Caller& caller, const CreateSubscriptionInput& in);
  absl::StatusOr<ListSubscriptionsOutput> List(const Caller& caller, const std::string& tenant_id,
                                               int64_t page_size, const std::string& page_token);
  absl::Status Delete(const Caller& caller, const std::string& subscription_id);
  // The subscription if the caller may see it, else NOT_FOUND naming the id.
  absl::StatusOr<Subscription> Visible(const Caller& caller, const std::string& subscription_id);

 private:
  SubscriptionStore& store_;
  const Clock& clock_;
  IdGenerator& ids_;
  const api::PageTokenSigner& tokens_;
  const HostResolver& resolver_;
  TenantDirectory& tenants_;
  const SubscriptionOptions options_;
};

absl::Status SubscriptionNotFound(const std::string& subscription_id);

}  // namespace sundesk::notification
