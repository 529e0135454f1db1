// Subscription rules with fakes: event type names against events.proto, webhook URLs and
// the SSRF guard, email addresses, tenant scope and idempotent creates.
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/core/clock.h"
#include "libs/core/ids.h"
#include "services/notification/domain/event_types.h"
#include "services/notification/domain/subscription_service.h"
#include "services/notification/domain/target_rules.h"
#include "sundesk/events/v1/events.pb.h"
#include "tests/services/notification/fake_subscription_store.h"
#include "tests/services/notification/fake_tenant_directory.h"

namespace sundesk::notification {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr char kTenantA[] = "0190a000-0000-7000-8000-00000000000a";
constexpr char kTenantB[] = "0190a000-0000-7000-8000-00000000000b";

TEST(EventTypesTest, MatchThePayloadsOfEventsProto) {
  const auto* payload = events::v1::Event::descriptor()->FindOneofByName("payload");
  ASSERT_NE(payload, nullptr);
  std::vector<std::string> from_proto;
  for (int i = 0; i < payload->field_count(); ++i) {
    from_proto.push_back(payload->field(i)->message_type()->name());
  }
  EXPECT_EQ(KnownEventTypes(), from_proto);
}

TEST(EventTypesTest, UnknownAndRepeatedNamesNameTheirIndex) {
  EXPECT_TRUE(CheckEventTypes("event_types", {}).ok());
  EXPECT_TRUE(CheckEventTypes("event_types", {"TicketCreated", "SlaBreached"}).ok());
  absl::Status s = CheckEventTypes("event_types", {"TicketCreated", "ticketcreated"});
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), StartsWith("event_types[1]: "));
  s = CheckEventTypes("event_types", {"SlaMet", "SlaMet"});
  EXPECT_THAT(std::string(s.message()), StartsWith("event_types[1]: repeated"));
}

TEST(TargetRulesTest, RefusedAddresses) {
  for (const char* ip : {"127.0.0.1",
                         "127.8.9.1",
                         "10.1.2.3",
                         "172.16.0.1",
                         "172.31.255.255",
                         "192.168.1.1",
                         "169.254.169.254",
                         "100.64.0.1",
                         "0.0.0.0",
                         "224.0.0.1",
                         "255.255.255.255",
                         "::1",
                         "::",
                         "fe80::1",
                         "fc00::1",
                         "fd12:3456::1",
                         "::ffff:127.0.0.1",
                         "::ffff:10.0.0.1",
                         "ff02::1",
                         "not-an-ip"}) {
    EXPECT_TRUE(IsRefusedAddress(ip)) << ip;
  }
  for (const char* ip : {"93.184.216.34", "8.8.8.8", "172.32.0.1", "100.128.0.1",
                         "2606:2800:220:1:248:1893:25c8:1946", "::ffff:8.8.8.8"}) {
    EXPECT_FALSE(IsRefusedAddress(ip)) << ip;
  }
}

TEST(TargetRulesTest, WebhookUrlShape) {
  auto ok = ParseWebhookUrl("webhook.url", "https://hooks.example.com:8443/sundesk?x=1");
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->scheme, "https");
  EXPECT_EQ(ok->host, "hooks.example.com");
  EXPECT_EQ(ok->port, 8443);
  auto v6 = ParseWebhookUrl("webhook.url", "http://[2606:2800::1]/h");
  ASSERT_TRUE(v6.ok()) << v6.status();
  EXPECT_EQ(v6->host, "2606:2800::1");
  EXPECT_EQ(v6->port, 80);
  for (const char* bad : {"", "hooks.example.com/x", "ftp://hooks.example.com/",
                          "file:///etc/passwd", "https://user:pw@hooks.example.com/",
                          "https:// spaced.example.com/", "https://", "gopher://x.example.com"}) {
    auto r = ParseWebhookUrl("webhook.url", bad);
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(std::string(r.status().message()), StartsWith("webhook.url: ")) << bad;
  }
  EXPECT_FALSE(
      ParseWebhookUrl("webhook.url", "https://example.com/" + std::string(2048, 'a')).ok());
}

TEST(TargetRulesTest, SsrfGuardResolvesTheHost) {
  FakeHostResolver resolver({{"hooks.example.com", {"93.184.216.34"}},
                             {"sneaky.example.com", {"93.184.216.34", "10.0.0.7"}},
                             {"metadata.example.com", {"169.254.169.254"}}});
  EXPECT_TRUE(CheckWebhookUrl("webhook.url", "https://hooks.example.com/h", resolver, false).ok());
  absl::Status s = CheckWebhookUrl("webhook.url", "https://sneaky.example.com/h", resolver, false);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr("10.0.0.7"));
  EXPECT_FALSE(
      CheckWebhookUrl("webhook.url", "http://metadata.example.com/", resolver, false).ok());
  EXPECT_FALSE(CheckWebhookUrl("webhook.url", "http://127.0.0.1:8080/", resolver, false).ok());
  s = CheckWebhookUrl("webhook.url", "http://nowhere.example.com/", resolver, false);
  EXPECT_THAT(std::string(s.message()), HasSubstr("does not resolve"));
  // The local-use switch lets loopback through (and does not need DNS).
  EXPECT_TRUE(CheckWebhookUrl("webhook.url", "http://127.0.0.1:8080/", resolver, true).ok());
}

TEST(TargetRulesTest, EmailAddresses) {
  for (const char* ok : {"ana@example.com", "ops+sundesk@mail.example.co.uk", "a.b@x-y.io"}) {
    EXPECT_TRUE(CheckEmailAddress("email.address", ok).ok()) << ok;
  }
  for (const char* bad : {"", "ana", "@example.com", "ana@", "ana@localhost", "a b@example.com",
                          "ana@exa mple.com", "ana@-example.com", "a..b@example.com",
                          "ana@example.com\r\nBcc: x@example.com", "<ana@example.com>"}) {
    absl::Status s = CheckEmailAddress("email.address", bad);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(std::string(s.message()), StartsWith("email.address: ")) << bad;
  }
  EXPECT_FALSE(CheckEmailAddress("email.address", std::string(65, 'a') + "@example.com").ok());
}

class SubscriptionServiceTest : public ::testing::Test {
 protected:
  FakeSubscriptionStore store_;
  FakeClock clock_;
  UuidV7Generator ids_{clock_, 7};
  api::PageTokenSigner tokens_{"test-key"};
  FakeHostResolver resolver_{{{"hooks.example.com", {"93.184.216.34"}}}};
  FakeTenantDirectory tenants_{{kTenantA, kTenantB}};
  SubscriptionService service_{store_, clock_, ids_, tokens_, resolver_, tenants_};
  Caller client_a_{.role = CallerRole::kClient, .tenant_id = kTenantA};
  Caller client_b_{.role = CallerRole::kClient, .tenant_id = kTenantB};
  Caller admin_{.role = CallerRole::kAdmin};

  static CreateSubscriptionInput Webhook() {
    return {.event_types = {"TicketCreated"},
            .has_webhook = true,
            .webhook_url = "https://hooks.example.com/sundesk",
            .webhook_secret = "0123456789abcdef"};
  }
};

TEST_F(SubscriptionServiceTest, ClientTenantComesFromTheKey) {
  auto s = service_.Create(client_a_, Webhook());
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->tenant_id, kTenantA);
  CreateSubscriptionInput other = Webhook();
  other.tenant_id = kTenantB;
  EXPECT_EQ(service_.Create(client_a_, other).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(service_.Visible(client_b_, s->subscription_id).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(service_.Delete(client_b_, s->subscription_id).code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(service_.Visible(admin_, s->subscription_id).ok());
}

TEST_F(SubscriptionServiceTest, AdminMustNameTheTenantAndOtherRolesAreRefused) {
  absl::Status s = service_.Create(admin_, Webhook()).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), StartsWith("tenant_id: "));
  CreateSubscriptionInput in = Webhook();
  in.tenant_id = "acme";
  EXPECT_THAT(std::string(service_.Create(admin_, in).status().message()),
              StartsWith("tenant_id: "));
  in.tenant_id = kTenantB;
  ASSERT_TRUE(service_.Create(admin_, in).ok());
  Caller agent{.role = CallerRole::kAgent};
  EXPECT_EQ(service_.Create(agent, Webhook()).status().code(), absl::StatusCode::kPermissionDenied);
}

TEST_F(SubscriptionServiceTest, EveryFieldIsValidatedByName) {
  struct Case {
    std::function<void(CreateSubscriptionInput&)> edit;
    std::string field;
  };
  std::vector<Case> cases = {
      {[](auto& in) { in.has_webhook = false; }, "channel: "},
      {[](auto& in) {
         in.event_types = {"TicketCreated", "Nope"};
       },
       "event_types[1]: "},
      {[](auto& in) { in.webhook_url = "ftp://hooks.example.com/"; }, "webhook.url: "},
      {[](auto& in) { in.webhook_secret = "short"; }, "webhook.secret: "},
      {[](auto& in) { in.display_name = std::string(201, 'x'); }, "display_name: "},
      {[](auto& in) { in.request_id = std::string(129, 'r'); }, "request_id: "},
      {[](auto& in) {
         in.has_webhook = false;
         in.has_email = true;
         in.email_address = "not-an-address";
       },
       "email.address: "},
  };
  for (const auto& c : cases) {
    CreateSubscriptionInput in = Webhook();
    c.edit(in);
    absl::Status s = service_.Create(client_a_, in).status();
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << c.field;
    EXPECT_THAT(std::string(s.message()), StartsWith(c.field));
  }
}

TEST_F(SubscriptionServiceTest, SameRequestIdReturnsTheFirstSubscription) {
  CreateSubscriptionInput in = Webhook();
  in.request_id = "req-1";
  auto first = service_.Create(client_a_, in);
  auto again = service_.Create(client_a_, in);
  ASSERT_TRUE(first.ok() && again.ok());
  EXPECT_EQ(first->subscription_id, again->subscription_id);
  in.webhook_secret = "another-secret-of-16";
  absl::Status s = service_.Create(client_a_, in).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(std::string(s.message()), StartsWith("request_id: "));
  // Another tenant's request ids are its own.
  auto b = service_.Create(client_b_, Webhook());
  ASSERT_TRUE(b.ok());
  EXPECT_NE(b->subscription_id, first->subscription_id);
}

TEST_F(SubscriptionServiceTest, TheStoredFingerprintDoesNotDependOnTheSecret) {
  // Two requests that differ only in their secret leave the same fingerprint: nothing of
  // the secret is in it to be checked against guesses.
  CreateSubscriptionInput one = Webhook();
  one.request_id = "req-secret-1";
  CreateSubscriptionInput two = Webhook();
  two.request_id = "req-secret-2";
  two.webhook_secret = "a-wholly-different-secret";
  ASSERT_TRUE(service_.Create(client_a_, one).ok());
  ASSERT_TRUE(service_.Create(client_a_, two).ok());
  ASSERT_EQ(store_.fingerprints().size(), 2u);
  EXPECT_EQ(store_.fingerprints()[0], store_.fingerprints()[1]);
  EXPECT_THAT(store_.fingerprints()[0], StartsWith("v2:"));
  // Another body does change it.
  CreateSubscriptionInput three = Webhook();
  three.request_id = "req-secret-3";
  three.display_name = "Other";
  ASSERT_TRUE(service_.Create(client_a_, three).ok());
  EXPECT_NE(store_.fingerprints()[2], store_.fingerprints()[0]);
  // The secret still tells a retry from another request: the store compares it.
  one.webhook_secret = "not-the-first-secret";
  EXPECT_EQ(service_.Create(client_a_, one).status().code(), absl::StatusCode::kAlreadyExists);
}

TEST_F(SubscriptionServiceTest, ListPagesThroughOneTenantOnly) {
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(service_.Create(client_a_, Webhook()).ok());
  ASSERT_TRUE(service_.Create(client_b_, Webhook()).ok());
  std::vector<std::string> seen;
  std::string token;
  do {
    auto page = service_.List(client_a_, "", 2, token);
    ASSERT_TRUE(page.ok()) << page.status();
    for (const auto& s : page->subscriptions) {
      EXPECT_EQ(s.tenant_id, kTenantA);
      seen.push_back(s.subscription_id);
    }
    token = page->next_page_token;
  } while (!token.empty());
  EXPECT_EQ(seen.size(), 5u);
  EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end()));
  // A token is bound to its tenant.
  auto page = service_.List(client_a_, "", 2, "");
  ASSERT_TRUE(page.ok());
  absl::Status s = service_.List(client_b_, "", 2, page->next_page_token).status();
  EXPECT_THAT(std::string(s.message()), StartsWith("page_token: "));
  EXPECT_THAT(std::string(service_.List(client_a_, "", -1, "").status().message()),
              StartsWith("page_size: "));
}

TEST_F(SubscriptionServiceTest, DeleteTwiceIsNotFound) {
  auto s = service_.Create(client_a_, Webhook());
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE(service_.Delete(client_a_, s->subscription_id).ok());
  EXPECT_EQ(service_.Delete(client_a_, s->subscription_id).code(), absl::StatusCode::kNotFound);
  absl::Status empty = service_.Delete(client_a_, "");
  EXPECT_THAT(std::string(empty.message()), StartsWith("subscription_id: "));
  EXPECT_EQ(service_.Delete(client_a_, "garbage").code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace sundesk::notification
