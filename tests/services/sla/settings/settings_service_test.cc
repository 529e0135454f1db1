// SlaService calendars and policies end to end in one process: a real PostgreSQL
// (throwaway cluster), the sla migrations, the PostgreSQL store, and the handlers behind a
// real gRPC server on port 0, driven through the generated stub.
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "libs/core/clock.h"
#include "libs/core/ids.h"
#include "libs/core/status.h"
#include "libs/pg/migrations.h"
#include "libs/pg/pool.h"
#include "libs/rpc/auth.h"
#include "libs/rpc/client.h"
#include "libs/rpc/server.h"
#include "prometheus/registry.h"
#include "services/sla/api/sla_service_handlers.h"
#include "services/sla/domain/sla_engine.h"
#include "services/sla/domain/ticket_clocks.h"
#include "services/sla/store/pg_clock_store.h"
#include "services/sla/store/pg_settings_store.h"
#include "sundesk/sla/v1/sla_service.grpc.pb.h"
#include "tests/support/postgres_server.h"

namespace sundesk::sla {
namespace {

using ::testing::HasSubstr;

constexpr char kAdminKey[] = "admin-key-for-tests";
constexpr char kServiceKey[] = "service-key-for-tests";
constexpr char kClientAKey[] = "client-a-key-for-tests";
constexpr char kClientBKey[] = "client-b-key-for-tests";
constexpr char kTenantA[] = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b";
constexpr char kTenantB[] = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5c";

class SlaSettingsServiceTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto server = testing::PostgresServer::Start();
    ASSERT_TRUE(server.ok()) << server.status();
    postgres_ = server->release();
    auto dsn = postgres_->CreateDatabase("sla_settings");
    ASSERT_TRUE(dsn.ok()) << dsn.status();
    auto pool = pg::Pool::Create(
        {.dsn = *dsn, .connect_timeout = absl::Seconds(1), .acquire_timeout = absl::Seconds(2)});
    ASSERT_TRUE(pool.ok()) << pool.status();
    pool_ = pool->release();
    absl::Status migrated = pg::RunMigrations(*pool_, kSlaSchema, SlaMigrations());
    ASSERT_TRUE(migrated.ok()) << migrated;
    store_ = new PgSettingsStore(*pool_);
    clock_ = new SystemClock();
    ids_ = new UuidV7Generator(*clock_);
    page_tokens_ = new api::PageTokenSigner("sla-test-page-tokens");
    settings_ = new SlaSettings(*store_, *clock_, *ids_, *page_tokens_);
    clock_store_ = new PgClockStore(*pool_);
    engine_ = new SlaEngine(*store_, *clock_);
    clocks_ = new TicketClocks(*clock_store_, *engine_);
    auth_ = new rpc::StaticKeyAuthenticator();
    auth_->Add(kAdminKey, {.role = rpc::Role::kAdmin, .key_id = "admin"});
    auth_->Add(kServiceKey, {.role = rpc::Role::kService, .key_id = "service"});
    auth_->Add(kClientAKey, {.role = rpc::Role::kClient, .tenant_id = kTenantA, .key_id = "a"});
    auth_->Add(kClientBKey, {.role = rpc::Role::kClient, .tenant_id = kTenantB, .key_id = "b"});
    handlers_ = new SlaServiceHandlers(*settings_, *clocks_, *auth_);
    metrics_ = new std::shared_ptr<prometheus::Registry>(std::make_shared<prometheus::Registry>());
    rpc::ServerOptions options;
    options.services = {{v1::SlaService::service_full_name(), handlers_}};
    auto started = rpc::Server::Start(std::move(options), **metrics_);
    ASSERT_TRUE(started.ok()) << started.status();
    server_ = started->release();
    auto channel = rpc::MakeChannel({.target = absl::StrCat("127.0.0.1:", server_->port())});
    ASSERT_TRUE(channel.ok());
    stub_ = v1::SlaService::NewStub(*channel).release();
  }

  static void TearDownTestSuite() {
    if (server_ != nullptr) server_->Shutdown();
    delete stub_;
    delete server_;
    delete metrics_;
    delete handlers_;
    delete auth_;
    delete clocks_;
    delete engine_;
    delete clock_store_;
    delete settings_;
    delete page_tokens_;
    delete ids_;
    delete clock_;
    delete store_;
    delete pool_;
    delete postgres_;
  }

  static std::unique_ptr<grpc::ClientContext> Ctx(const std::string& key = kAdminKey) {
    return rpc::NewClientContext({.timeout = absl::Seconds(10), .api_key = key});
  }

  static v1::Calendar Office(const std::string& tenant = kTenantA,
                             const std::string& name = "Stockholm office") {
    v1::Calendar c;
    c.set_tenant_id(tenant);
    c.set_display_name(name);
    c.set_time_zone("Europe/Stockholm");
    for (int wd = 1; wd <= 5; ++wd) {
      auto* h = c.add_hours();
      h->set_weekday(wd);
      h->set_start("09:00");
      h->set_end("17:00");
    }
    auto* midsummer = c.add_holidays();
    midsummer->set_date("2026-06-19");
    midsummer->set_name("Midsommarafton");
    auto* christmas_eve = c.add_holidays();
    christmas_eve->set_date("2026-12-24");
    christmas_eve->set_start("12:00");
    return c;
  }

  static grpc::Status CreateCalendar(const v1::Calendar& c, v1::Calendar* out,
                                     const std::string& key = kAdminKey,
                                     const std::string& request_id = "") {
    v1::CreateCalendarRequest req;
    req.set_request_id(request_id);
    *req.mutable_calendar() = c;
    return stub_->CreateCalendar(Ctx(key).get(), req, out);
  }

  static v1::Calendar MustCreateCalendar(const v1::Calendar& c) {
    v1::Calendar out;
    grpc::Status st = CreateCalendar(c, &out);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return out;
  }

  static v1::Policy UrgentPolicy(const std::string& calendar_id,
                                 const std::string& tenant = kTenantA) {
    v1::Policy p;
    p.set_tenant_id(tenant);
    p.set_display_name("Gold – urgent");
    p.set_priority(common::v1::PRIORITY_URGENT);
    p.mutable_first_response()->set_seconds(3600);
    p.mutable_resolution()->set_seconds(8 * 3600);
    p.set_calendar_id(calendar_id);
    p.set_warn_at_percent(80);
    return p;
  }

  static grpc::Status CreatePolicy(const v1::Policy& p, v1::Policy* out,
                                   const std::string& request_id = "") {
    v1::CreatePolicyRequest req;
    req.set_request_id(request_id);
    *req.mutable_policy() = p;
    return stub_->CreatePolicy(Ctx().get(), req, out);
  }

  static void ExpectInvalid(const grpc::Status& st, const std::string& field) {
    EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << st.error_message();
    EXPECT_THAT(st.error_message(), HasSubstr(field + ":"));
  }

  static inline testing::PostgresServer* postgres_ = nullptr;
  static inline pg::Pool* pool_ = nullptr;
  static inline PgSettingsStore* store_ = nullptr;
  static inline SystemClock* clock_ = nullptr;
  static inline UuidV7Generator* ids_ = nullptr;
  static inline api::PageTokenSigner* page_tokens_ = nullptr;
  static inline SlaSettings* settings_ = nullptr;
  static inline PgClockStore* clock_store_ = nullptr;
  static inline SlaEngine* engine_ = nullptr;
  static inline TicketClocks* clocks_ = nullptr;
  static inline rpc::StaticKeyAuthenticator* auth_ = nullptr;
  static inline SlaServiceHandlers* handlers_ = nullptr;
  static inline std::shared_ptr<prometheus::Registry>* metrics_ = nullptr;
  static inline rpc::Server* server_ = nullptr;
  static inline v1::SlaService::Stub* stub_ = nullptr;
};

TEST_F(SlaSettingsServiceTest, CreateAndGetCalendar) {
  const v1::Calendar created = MustCreateCalendar(Office());
  EXPECT_FALSE(created.calendar_id().empty());
  EXPECT_EQ(created.etag(), "v1");
  EXPECT_TRUE(created.has_create_time());
  v1::GetCalendarRequest get;
  get.set_calendar_id(created.calendar_id());
  v1::Calendar read;
  ASSERT_TRUE(stub_->GetCalendar(Ctx().get(), get, &read).ok());
  EXPECT_EQ(read.SerializeAsString(), created.SerializeAsString());
  ASSERT_EQ(read.hours_size(), 5);
  EXPECT_EQ(read.hours(4).weekday(), 5);
  EXPECT_EQ(read.holidays(0).name(), "Midsommarafton");
  EXPECT_EQ(read.holidays(1).start(), "12:00");
}

TEST_F(SlaSettingsServiceTest, CalendarValidationNamesTheField) {
  v1::Calendar out;
  v1::Calendar c = Office();
  c.set_time_zone("Mars/Olympus_Mons");
  ExpectInvalid(CreateCalendar(c, &out), "calendar.time_zone");

  c = Office();
  c.mutable_hours(1)->set_weekday(8);
  ExpectInvalid(CreateCalendar(c, &out), "calendar.hours[1].weekday");

  c = Office();
  auto* overlap = c.add_hours();
  overlap->set_weekday(2);
  overlap->set_start("16:00");
  overlap->set_end("18:00");
  ExpectInvalid(CreateCalendar(c, &out), "calendar.hours[5]");

  c = Office();
  c.mutable_holidays(0)->set_date("2026-02-30");
  ExpectInvalid(CreateCalendar(c, &out), "calendar.holidays[0].date");

  c = Office();
  c.mutable_holidays(1)->set_end("11:00");  // before its start, 12:00
  ExpectInvalid(CreateCalendar(c, &out), "calendar.holidays[1].end");

  c = Office();
  c.clear_hours();
  ExpectInvalid(CreateCalendar(c, &out), "calendar.hours");

  c = Office();
  c.clear_tenant_id();
  ExpectInvalid(CreateCalendar(c, &out), "calendar.tenant_id");

  c = Office();
  c.set_display_name(std::string(201, 'x'));
  ExpectInvalid(CreateCalendar(c, &out), "calendar.display_name");

  v1::CreateCalendarRequest req;
  req.set_request_id(std::string(129, 'r'));
  *req.mutable_calendar() = Office();
  ExpectInvalid(stub_->CreateCalendar(Ctx().get(), req, &out), "request_id");
}

TEST_F(SlaSettingsServiceTest, AlwaysOpenCalendarNeedsNoHours) {
  v1::Calendar c;
  c.set_tenant_id(kTenantA);
  c.set_display_name("24x7");
  c.set_always_open(true);
  v1::Calendar out;
  grpc::Status st = CreateCalendar(c, &out);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_TRUE(out.always_open());
}

TEST_F(SlaSettingsServiceTest, RetriedCreateReturnsTheFirstCalendar) {
  const std::string request_id = ids_->NewId();
  v1::Calendar first, second;
  ASSERT_TRUE(CreateCalendar(Office(), &first, kAdminKey, request_id).ok());
  ASSERT_TRUE(CreateCalendar(Office(), &second, kAdminKey, request_id).ok());
  EXPECT_EQ(first.calendar_id(), second.calendar_id());
}

TEST_F(SlaSettingsServiceTest, TenantsNeverSeeEachOther) {
  const v1::Calendar a = MustCreateCalendar(Office(kTenantA));
  v1::GetCalendarRequest get;
  get.set_calendar_id(a.calendar_id());
  v1::Calendar out;
  EXPECT_TRUE(stub_->GetCalendar(Ctx(kClientAKey).get(), get, &out).ok());
  EXPECT_TRUE(stub_->GetCalendar(Ctx(kServiceKey).get(), get, &out).ok());

  const grpc::Status other = stub_->GetCalendar(Ctx(kClientBKey).get(), get, &out);
  EXPECT_EQ(other.error_code(), grpc::StatusCode::NOT_FOUND);
  v1::GetCalendarRequest missing;
  missing.set_calendar_id(ids_->NewId());
  const grpc::Status none = stub_->GetCalendar(Ctx(kClientBKey).get(), missing, &out);
  EXPECT_EQ(none.error_code(), grpc::StatusCode::NOT_FOUND);
  // The same answer as for a calendar that does not exist, apart from the id echoed.
  EXPECT_EQ(other.error_message().substr(0, 24), none.error_message().substr(0, 24));

  v1::ListCalendarsRequest list;
  list.set_tenant_id(kTenantA);
  v1::ListCalendarsResponse listed;
  ASSERT_TRUE(stub_->ListCalendars(Ctx(kClientBKey).get(), list, &listed).ok());
  EXPECT_EQ(listed.calendars_size(), 0);

  // Clients may not write settings; no key is no access.
  EXPECT_EQ(CreateCalendar(Office(kTenantA), &out, kClientAKey).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(CreateCalendar(Office(kTenantA), &out, "").error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  v1::GetCalendarRequest empty;
  ExpectInvalid(stub_->GetCalendar(Ctx().get(), empty, &out), "calendar_id");
}

TEST_F(SlaSettingsServiceTest, UpdateCalendarWithMaskAndEtag) {
  const v1::Calendar created = MustCreateCalendar(Office());
  v1::UpdateCalendarRequest req;
  *req.mutable_calendar() = created;
  req.mutable_calendar()->set_display_name("Office, new name");
  req.mutable_calendar()->set_time_zone("America/New_York");  // not in the mask: unchanged
  req.mutable_update_mask()->add_paths("display_name");
  req.set_etag(created.etag());
  v1::Calendar updated;
  grpc::Status st = stub_->UpdateCalendar(Ctx().get(), req, &updated);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(updated.display_name(), "Office, new name");
  EXPECT_EQ(updated.time_zone(), "Europe/Stockholm");
  EXPECT_EQ(updated.etag(), "v2");

  // The etag read before is stale now.
  EXPECT_EQ(stub_->UpdateCalendar(Ctx().get(), req, &updated).error_code(),
            grpc::StatusCode::ABORTED);

  req.clear_etag();
  req.mutable_update_mask()->clear_paths();
  ExpectInvalid(stub_->UpdateCalendar(Ctx().get(), req, &updated), "update_mask");
  req.mutable_update_mask()->add_paths("tenant_id");
  ExpectInvalid(stub_->UpdateCalendar(Ctx().get(), req, &updated), "update_mask");

  req.mutable_update_mask()->clear_paths();
  req.mutable_update_mask()->add_paths("time_zone");
  req.mutable_calendar()->set_time_zone("Europe/Atlantis");
  ExpectInvalid(stub_->UpdateCalendar(Ctx().get(), req, &updated), "calendar.time_zone");

  req.mutable_calendar()->set_calendar_id(ids_->NewId());
  req.mutable_calendar()->set_time_zone("UTC");
  EXPECT_EQ(stub_->UpdateCalendar(Ctx().get(), req, &updated).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(SlaSettingsServiceTest, ListCalendarsByDisplayNameInPages) {
  const std::string tenant = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a60";
  for (const char* name : {"Charlie", "Alpha", "Bravo"}) MustCreateCalendar(Office(tenant, name));
  v1::ListCalendarsRequest req;
  req.set_tenant_id(tenant);
  req.set_page_size(2);
  v1::ListCalendarsResponse page1, page2;
  ASSERT_TRUE(stub_->ListCalendars(Ctx().get(), req, &page1).ok());
  ASSERT_EQ(page1.calendars_size(), 2);
  EXPECT_EQ(page1.calendars(0).display_name(), "Alpha");
  EXPECT_EQ(page1.calendars(1).display_name(), "Bravo");
  ASSERT_FALSE(page1.next_page_token().empty());
  req.set_page_token(page1.next_page_token());
  ASSERT_TRUE(stub_->ListCalendars(Ctx().get(), req, &page2).ok());
  ASSERT_EQ(page2.calendars_size(), 1);
  EXPECT_EQ(page2.calendars(0).display_name(), "Charlie");
  EXPECT_TRUE(page2.next_page_token().empty());

  req.set_page_token("not-a-token");
  ExpectInvalid(stub_->ListCalendars(Ctx().get(), req, &page2), "page_token");
  req.clear_page_token();
  req.clear_tenant_id();
  ExpectInvalid(stub_->ListCalendars(Ctx().get(), req, &page2), "tenant_id");
  req.set_tenant_id(tenant);
  req.set_page_size(-1);
  ExpectInvalid(stub_->ListCalendars(Ctx().get(), req, &page2), "page_size");
}

TEST_F(SlaSettingsServiceTest, CreatePolicyAndValidation) {
  const v1::Calendar cal = MustCreateCalendar(Office());
  v1::Policy created;
  grpc::Status st = CreatePolicy(UrgentPolicy(cal.calendar_id()), &created);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(created.etag(), "v1");
  EXPECT_EQ(created.first_response().seconds(), 3600);
  EXPECT_EQ(created.warn_at_percent(), 80);

  v1::Policy out;
  v1::Policy p = UrgentPolicy(cal.calendar_id());
  p.set_priority(common::v1::PRIORITY_LOW);
  p.set_warn_at_percent(100);
  ExpectInvalid(CreatePolicy(p, &out), "policy.warn_at_percent");
  p.set_warn_at_percent(-1);
  ExpectInvalid(CreatePolicy(p, &out), "policy.warn_at_percent");
  p.set_warn_at_percent(80);
  p.mutable_resolution()->set_seconds(-5);
  ExpectInvalid(CreatePolicy(p, &out), "policy.resolution");
  p.mutable_resolution()->set_seconds(5);
  p.mutable_resolution()->set_nanos(-3);  // sign differs from seconds
  ExpectInvalid(CreatePolicy(p, &out), "policy.resolution");
  p.clear_resolution();
  p.clear_first_response();
  ExpectInvalid(CreatePolicy(p, &out), "policy.first_response");
  p = UrgentPolicy("");
  p.set_priority(common::v1::PRIORITY_LOW);
  ExpectInvalid(CreatePolicy(p, &out), "policy.calendar_id");
  p.set_calendar_id(cal.calendar_id());
  p.set_priority(static_cast<common::v1::Priority>(9));
  ExpectInvalid(CreatePolicy(p, &out), "policy.priority");

  // Another tenant's calendar is as unknown as a missing one.
  p = UrgentPolicy(cal.calendar_id(), kTenantB);
  st = CreatePolicy(p, &out);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(st.error_message(), HasSubstr("policy.calendar_id"));

  // One policy per match.
  st = CreatePolicy(UrgentPolicy(cal.calendar_id()), &out);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::ALREADY_EXISTS) << st.error_message();
}

TEST_F(SlaSettingsServiceTest, RetriedCreatePolicyReturnsTheFirstPolicy) {
  const std::string tenant = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a61";
  const v1::Calendar cal = MustCreateCalendar(Office(tenant));
  const std::string request_id = ids_->NewId();
  v1::Policy first, second;
  ASSERT_TRUE(CreatePolicy(UrgentPolicy(cal.calendar_id(), tenant), &first, request_id).ok());
  grpc::Status st = CreatePolicy(UrgentPolicy(cal.calendar_id(), tenant), &second, request_id);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(first.policy_id(), second.policy_id());
}

TEST_F(SlaSettingsServiceTest, ListPoliciesInCreationOrderAndScope) {
  const std::string tenant = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a62";
  const v1::Calendar cal = MustCreateCalendar(Office(tenant));
  std::vector<std::string> ids;
  for (auto priority :
       {common::v1::PRIORITY_URGENT, common::v1::PRIORITY_HIGH, common::v1::PRIORITY_NORMAL}) {
    v1::Policy p = UrgentPolicy(cal.calendar_id(), tenant);
    p.set_priority(priority);
    v1::Policy out;
    ASSERT_TRUE(CreatePolicy(p, &out).ok());
    ids.push_back(out.policy_id());
  }
  v1::ListPoliciesRequest req;
  req.set_tenant_id(tenant);
  req.set_page_size(2);
  v1::ListPoliciesResponse page1, page2;
  ASSERT_TRUE(stub_->ListPolicies(Ctx(kServiceKey).get(), req, &page1).ok());
  ASSERT_EQ(page1.policies_size(), 2);
  EXPECT_EQ(page1.policies(0).policy_id(), ids[0]);
  EXPECT_EQ(page1.policies(1).policy_id(), ids[1]);
  req.set_page_token(page1.next_page_token());
  ASSERT_TRUE(stub_->ListPolicies(Ctx(kServiceKey).get(), req, &page2).ok());
  ASSERT_EQ(page2.policies_size(), 1);
  EXPECT_EQ(page2.policies(0).policy_id(), ids[2]);

  // A token of one tenant's list is not a token of another's.
  v1::ListPoliciesRequest other;
  other.set_tenant_id(kTenantA);
  other.set_page_token(page1.next_page_token());
  ExpectInvalid(stub_->ListPolicies(Ctx().get(), other, &page2), "page_token");

  // Nor a token of another list; and an altered token does not verify.
  v1::ListCalendarsRequest calendars;
  calendars.set_tenant_id(tenant);
  calendars.set_page_token(page1.next_page_token());
  v1::ListCalendarsResponse calendar_page;
  ExpectInvalid(stub_->ListCalendars(Ctx(kServiceKey).get(), calendars, &calendar_page),
                "page_token");
  std::string altered = page1.next_page_token();
  char& c = altered[altered.size() / 2];
  c = c == 'A' ? 'B' : 'A';
  req.set_page_token(altered);
  ExpectInvalid(stub_->ListPolicies(Ctx(kServiceKey).get(), req, &page2), "page_token");

  // A CLIENT key lists its own tenant without naming it, and nobody else's.
  v1::ListPoliciesRequest own;
  v1::ListPoliciesResponse b_policies;
  ASSERT_TRUE(stub_->ListPolicies(Ctx(kClientBKey).get(), own, &b_policies).ok());
  for (const auto& p : b_policies.policies()) EXPECT_EQ(p.tenant_id(), kTenantB);
  ASSERT_TRUE(stub_->ListPolicies(Ctx(kClientBKey).get(), req, &b_policies).ok());
  EXPECT_EQ(b_policies.policies_size(), 0);
}

TEST_F(SlaSettingsServiceTest, UpdatePolicy) {
  const std::string tenant = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a63";
  const v1::Calendar cal = MustCreateCalendar(Office(tenant));
  v1::Policy urgent, high;
  ASSERT_TRUE(CreatePolicy(UrgentPolicy(cal.calendar_id(), tenant), &urgent).ok());
  v1::Policy p = UrgentPolicy(cal.calendar_id(), tenant);
  p.set_priority(common::v1::PRIORITY_HIGH);
  ASSERT_TRUE(CreatePolicy(p, &high).ok());

  v1::UpdatePolicyRequest req;
  *req.mutable_policy() = urgent;
  req.mutable_policy()->mutable_first_response()->set_seconds(1800);
  req.mutable_policy()->set_warn_at_percent(90);
  req.mutable_update_mask()->add_paths("first_response");
  req.mutable_update_mask()->add_paths("warn_at_percent");
  req.set_etag(urgent.etag());
  v1::Policy updated;
  grpc::Status st = stub_->UpdatePolicy(Ctx().get(), req, &updated);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(updated.first_response().seconds(), 1800);
  EXPECT_EQ(updated.warn_at_percent(), 90);
  EXPECT_EQ(updated.resolution().seconds(), 8 * 3600);
  EXPECT_EQ(updated.etag(), "v2");
  EXPECT_EQ(stub_->UpdatePolicy(Ctx().get(), req, &updated).error_code(),
            grpc::StatusCode::ABORTED);

  req.clear_etag();
  req.mutable_update_mask()->clear_paths();
  req.mutable_update_mask()->add_paths("priority");
  req.mutable_policy()->set_priority(common::v1::PRIORITY_HIGH);  // the other policy's match
  EXPECT_EQ(stub_->UpdatePolicy(Ctx().get(), req, &updated).error_code(),
            grpc::StatusCode::ALREADY_EXISTS);

  req.mutable_update_mask()->clear_paths();
  req.mutable_update_mask()->add_paths("calendar_id");
  req.mutable_policy()->set_calendar_id(ids_->NewId());
  st = stub_->UpdatePolicy(Ctx().get(), req, &updated);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(st.error_message(), HasSubstr("policy.calendar_id"));

  req.mutable_update_mask()->clear_paths();
  req.mutable_update_mask()->add_paths("warn_at_percent");
  req.mutable_policy()->set_warn_at_percent(120);
  ExpectInvalid(stub_->UpdatePolicy(Ctx().get(), req, &updated), "policy.warn_at_percent");

  req.mutable_policy()->set_policy_id(ids_->NewId());
  req.mutable_policy()->set_warn_at_percent(50);
  EXPECT_EQ(stub_->UpdatePolicy(Ctx().get(), req, &updated).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(SlaSettingsServiceTest, StoredSettingsDriveTheClockEngine) {
  const std::string tenant = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a64";
  const v1::Calendar cal = MustCreateCalendar(Office(tenant));
  v1::Policy p = UrgentPolicy(cal.calendar_id(), tenant);
  p.set_priority(common::v1::PRIORITY_UNSPECIFIED);
  v1::Policy created;
  ASSERT_TRUE(CreatePolicy(p, &created).ok());

  FakeClock clock;
  SlaEngine engine(*store_, clock);
  TicketSla sla;
  absl::TimeZone stockholm;
  ASSERT_TRUE(absl::LoadTimeZone("Europe/Stockholm", &stockholm));
  // Thursday 16:30 before Midsommarafton: 30 min Thursday, then Monday from 09:00.
  const absl::Time created_at =
      absl::FromCivil(absl::CivilSecond(2026, 6, 18, 16, 30, 0), stockholm);
  TicketEvent e{.kind = TicketEvent::Kind::kCreated,
                .event_id = "e1",
                .sequence = 1,
                .time = created_at,
                .ticket = {.ticket_id = "t1",
                           .tenant_id = tenant,
                           .priority = Priority::kHigh,
                           .status = TicketStatus::kNew}};
  auto signals = engine.Apply(sla, e);
  ASSERT_TRUE(signals.ok()) << signals.status();
  ASSERT_EQ(signals->size(), 2u);
  EXPECT_EQ(sla.policy_id, created.policy_id());
  EXPECT_EQ((*signals)[0].deadline,
            absl::FromCivil(absl::CivilSecond(2026, 6, 22, 9, 30, 0), stockholm));
}

TEST_F(SlaSettingsServiceTest, GetTicketSlaOfAnUnseenTicketIsNotFound) {
  v1::GetTicketSlaRequest req;
  v1::TicketSla out;
  ExpectInvalid(stub_->GetTicketSla(Ctx().get(), req, &out), "ticket_id");
  req.set_ticket_id(ids_->NewId());
  EXPECT_EQ(stub_->GetTicketSla(Ctx().get(), req, &out).error_code(), grpc::StatusCode::NOT_FOUND);
}

}  // namespace
}  // namespace sundesk::sla
