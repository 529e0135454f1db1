#include "services/notification/domain/subscription_service.h"

#include <openssl/sha.h>

#include <algorithm>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "libs/core/status.h"
#include "services/notification/domain/event_types.h"
#include "libs/api/validation.h"

namespace sundesk::notification {
namespace {

// A digest of what a create request asks for, so a reused request_id with another body is
// told apart from a retry. The webhook secret is left out: a stored digest of it could be
// checked against guesses of a weak secret. The store compares a replay's secret with the
// stored (sealed) one instead. "v2:" tells these from the older digests, which had it.
std::string Fingerprint(const CreateSubscriptionInput& in, const std::string& tenant_id) {
  std::string canonical = absl::StrCat(tenant_id, "\x1f", absl::StrJoin(in.event_types, ","),
                                       "\x1f", in.has_webhook ? "w" : "e", "\x1f", in.webhook_url,
                                       "\x1f", in.email_address, "\x1f", in.display_name);
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(canonical.data()), canonical.size(), digest);
  return absl::StrCat("v2:", absl::BytesToHexString(absl::string_view(
                                 reinterpret_cast<const char*>(digest), sizeof(digest))));
}

// The instant at PostgreSQL's precision (microseconds), so a subscription read back equals
// the one returned.
absl::Time Micros(absl::Time t) { return absl::FromUnixMicros(absl::ToUnixMicros(t)); }

}  // namespace

bool Wants(const Subscription& subscription, const std::string& event_type) {
  return subscription.event_types.empty() ||
         std::find(subscription.event_types.begin(), subscription.event_types.end(), event_type) !=
             subscription.event_types.end();
}

absl::Status SubscriptionNotFound(const std::string& subscription_id) {
  return absl::NotFoundError(
      absl::StrCat("subscription \"", absl::CEscape(subscription_id), "\" not found"));
}

absl::StatusOr<std::string> ResolveTenant(const Caller& caller, const std::string& requested) {
  switch (caller.role) {
    case CallerRole::kClient:
      if (!requested.empty() && requested != caller.tenant_id) {
        return absl::NotFoundError(absl::StrCat("tenant_id: no tenant \"", absl::CEscape(requested),
                                                "\" visible to this key"));
      }
      return caller.tenant_id;
    case CallerRole::kAdmin:
      if (requested.empty())
        return absl::InvalidArgumentError("tenant_id: required for ADMIN keys");
      if (!IsUuid(requested)) {
        return absl::InvalidArgumentError("tenant_id: must be a tenant id (a UUID)");
      }
      return requested;
    case CallerRole::kAgent:
    case CallerRole::kService:
      break;
  }
  return absl::PermissionDeniedError("notification subscriptions need a CLIENT or ADMIN key");
}

SubscriptionService::SubscriptionService(SubscriptionStore& store, const Clock& clock,
                                         IdGenerator& ids,
                                         const api::PageTokenSigner& page_tokens,
                                         const HostResolver& resolver, TenantDirectory& tenants,
                                         SubscriptionOptions options)
    : store_(store),
      clock_(clock),
      ids_(ids),
      tokens_(page_tokens),
      resolver_(resolver),
      tenants_(tenants),
      options_(options) {}

absl::StatusOr<std::string> SubscriptionService::Tenant(const Caller& caller,
                                                        const std::string& requested) {
  SUNDESK_ASSIGN_OR_RETURN(std::string tenant, ResolveTenant(caller, requested));
  if (caller.role == CallerRole::kAdmin) SUNDESK_RETURN_IF_ERROR(tenants_.CheckExists(tenant));
  return tenant;
}

absl::StatusOr<Subscription> SubscriptionService::Create(const Caller& caller,
                                                         const CreateSubscriptionInput& in) {
  SUNDESK_ASSIGN_OR_RETURN(std::string tenant_id, Tenant(caller, in.tenant_id));
  SUNDESK_RETURN_IF_ERROR(api::CheckRequestId("request_id", in.request_id));
  SUNDESK_RETURN_IF_ERROR(CheckEventTypes("event_types", in.event_types));
  SUNDESK_RETURN_IF_ERROR(api::CheckText("display_name", in.display_name, 0, 200));
  Subscription s;
  if (in.has_webhook) {
    SUNDESK_RETURN_IF_ERROR(
        CheckWebhookUrl("webhook.url", in.webhook_url, resolver_, options_.allow_private_targets));
    SUNDESK_RETURN_IF_ERROR(api::CheckText("webhook.secret", in.webhook_secret, 16, 256));
    s.channel = ChannelKind::kWebhook;
    s.target = in.webhook_url;
    s.secret = in.webhook_secret;
  } else if (in.has_email) {
    SUNDESK_RETURN_IF_ERROR(CheckEmailAddress("email.address", in.email_address));
    s.channel = ChannelKind::kEmail;
    s.target = in.email_address;
  } else {
    return absl::InvalidArgumentError("channel: set webhook or email");
  }
  s.subscription_id = ids_.NewId();
  s.tenant_id = tenant_id;
  s.event_types = in.event_types;
  s.display_name = in.display_name;
  s.create_time = Micros(clock_.Now());

  std::optional<CreateRecord> record;
  const std::string fingerprint = Fingerprint(in, tenant_id);
  if (!in.request_id.empty()) {
    record = CreateRecord{.request_id = in.request_id, .fingerprint = fingerprint};
  }
  SUNDESK_ASSIGN_OR_RETURN(StoredSubscription stored, store_.CreateSubscription(s, record));
  // A record from before fingerprints left the secret out has none: only its secret can be
  // compared, and the request_id was this tenant's, so a matching secret is taken as a retry.
  const bool same_body = stored.fingerprint.empty() || stored.fingerprint == fingerprint;
  if (stored.replayed && (!same_body || !stored.same_secret)) {
    return absl::AlreadyExistsError(absl::StrCat(
        "request_id: \"", absl::CEscape(in.request_id), "\" was already used for subscription ",
        stored.subscription.subscription_id, " with a different request; use a new request_id"));
  }
  return stored.subscription;
}

absl::StatusOr<ListSubscriptionsOutput> SubscriptionService::List(const Caller& caller,
                                                                  const std::string& tenant_id,
                                                                  int64_t page_size,
                                                                  const std::string& page_token) {
  SUNDESK_ASSIGN_OR_RETURN(std::string tenant, Tenant(caller, tenant_id));
  SUNDESK_ASSIGN_OR_RETURN(int limit, api::ResolvePageSize("page_size", page_size));
  std::string after;
  if (!page_token.empty()) {
    SUNDESK_ASSIGN_OR_RETURN(after,
                             tokens_.Verify("page_token", tenant, "subscriptions", page_token));
  }
  SUNDESK_ASSIGN_OR_RETURN(std::vector<Subscription> rows,
                           store_.ListSubscriptions(tenant, after, limit + 1));
  ListSubscriptionsOutput out;
  if (static_cast<int>(rows.size()) > limit) {
    rows.resize(limit);
    out.next_page_token = tokens_.Sign(tenant, "subscriptions", rows.back().subscription_id);
  }
  out.subscriptions = std::move(rows);
  return out;
}

absl::StatusOr<Subscription> SubscriptionService::Visible(const Caller& caller,
                                                          const std::string& subscription_id) {
  if (caller.role != CallerRole::kClient && caller.role != CallerRole::kAdmin) {
    return absl::PermissionDeniedError("notification subscriptions need a CLIENT or ADMIN key");
  }
  if (subscription_id.empty()) {
    return absl::InvalidArgumentError("subscription_id: must not be empty");
  }
  if (!IsUuid(subscription_id)) return SubscriptionNotFound(subscription_id);
  SUNDESK_ASSIGN_OR_RETURN(std::optional<Subscription> s, store_.GetSubscription(subscription_id));
  if (!s || (caller.role == CallerRole::kClient && s->tenant_id != caller.tenant_id)) {
    return SubscriptionNotFound(subscription_id);
  }
  return *std::move(s);
}

absl::Status SubscriptionService::Delete(const Caller& caller, const std::string& subscription_id) {
  SUNDESK_ASSIGN_OR_RETURN(Subscription s, Visible(caller, subscription_id));
  SUNDESK_ASSIGN_OR_RETURN(bool deleted,
                           store_.DeleteSubscription(s.tenant_id, subscription_id, clock_.Now()));
  if (!deleted) return SubscriptionNotFound(subscription_id);
  return absl::OkStatus();
}

}  // namespace sundesk::notification
