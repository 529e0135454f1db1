// TicketService through a real in-process gRPC server and generated stubs, on a throwaway
// PostgreSQL with the service's migrations: idempotency under concurrency, etags,
// validation, two-tenant isolation, pagination under inserts, and the outbox rows.
#include "services/ticket/domain/ticket_service.h"

#include <atomic>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "libs/core/clock.h"
#include "libs/core/ids.h"
#include "libs/pg/migrations.h"
#include "libs/pg/pool.h"
#include "libs/rpc/auth.h"
#include "libs/rpc/client.h"
#include "libs/rpc/server.h"
#include "prometheus/registry.h"
#include "services/ticket/api/ticket_service_handlers.h"
#include "services/ticket/store/pg_ticket_store.h"
#include "services/ticket/store/schema.h"
#include "sundesk/events/v1/events.pb.h"
#include "sundesk/ticket/v1/ticket_service.grpc.pb.h"
#include "tests/support/migrated_database.h"

namespace sundesk::ticket {
namespace {

namespace pb = ::sundesk::ticket::v1;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr char kTenantA[] = "0190a000-0000-7000-8000-00000000000a";
constexpr char kTenantB[] = "0190a000-0000-7000-8000-00000000000b";
constexpr char kTenantC[] = "0190a000-0000-7000-8000-00000000000c";  // pagination only

class TicketServiceIntegrationTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto db = testing::MigratedDatabase::Start(
        {.database = "tickets", .schemas = {{kSchema, AllMigrations()}}, .pool = {.size = 8}});
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = db->release();
    pool_ = db_->pool.get();
    int n = 0;
    for (const char* tenant : {kTenantA, kTenantB, kTenantC}) {
      auto lease = pool_->Acquire();
      ASSERT_TRUE(lease.ok());
      auto r = (*lease)->Execute(
          "INSERT INTO ticket.tenants (tenant_id, name, time_zone, default_language, "
          "routing_mode, create_time, update_time) VALUES ($1, $2, 'Europe/Stockholm', 'sv', 1, "
          "now(), now())",
          {tenant, absl::StrCat("Client ", ++n)});
      ASSERT_TRUE(r.ok()) << r.status();
    }

    auth_ = new rpc::StaticKeyAuthenticator();
    auth_->Add("client-a", {.role = rpc::Role::kClient, .tenant_id = kTenantA, .key_id = "ka"});
    auth_->Add("client-b", {.role = rpc::Role::kClient, .tenant_id = kTenantB, .key_id = "kb"});
    auth_->Add("client-c", {.role = rpc::Role::kClient, .tenant_id = kTenantC, .key_id = "kc"});
    auth_->Add("admin", {.role = rpc::Role::kAdmin, .key_id = "admin"});
    auth_->Add("routing", {.role = rpc::Role::kService, .key_id = "routing"});
    auth_->Add("agent-1", {.role = rpc::Role::kAgent, .agent_id = "agent-1", .key_id = "k-ag1"});

    registry_ = new prometheus::Registry();
    metrics_ = new TicketMetrics(*registry_);
    workers_ = new WorkerPool(8, "test");
    // As ticket-server composes it: creates commit on the store's writer threads, and a
    // create whose request_id is taken continues on the workers.
    store_ = new PgTicketStore(*pool_, nullptr, workers_);
    ids_ = new UuidV7Generator(clock_);
    tickets_ = new TicketService(*store_, clock_, *ids_, page_tokens_, {}, metrics_);
    handlers_ = new TicketServiceHandlers(*auth_, *tickets_, workers_);
    rpc::ServerOptions options;
    options.services = {{pb::TicketService::service_full_name(), handlers_}};
    auto grpc_server = rpc::Server::Start(std::move(options), *registry_);
    ASSERT_TRUE(grpc_server.ok()) << grpc_server.status();
    server_ = grpc_server->release();
    auto channel = rpc::MakeChannel({.target = absl::StrCat("127.0.0.1:", server_->port())});
    ASSERT_TRUE(channel.ok());
    channel_ = new std::shared_ptr<grpc::Channel>(*channel);
  }

  static void TearDownTestSuite() {
    delete server_;
    delete handlers_;
    delete tickets_;
    delete ids_;
    delete store_;
    delete workers_;
    delete metrics_;
    delete registry_;
    delete channel_;
    delete auth_;
    delete db_;
  }

  static std::unique_ptr<pb::TicketService::Stub> Stub() {
    return pb::TicketService::NewStub(*channel_);
  }
  static std::unique_ptr<grpc::ClientContext> Ctx(const std::string& key) {
    return rpc::NewClientContext({.timeout = absl::Seconds(20), .api_key = key});
  }

  static pb::CreateTicketRequest ValidCreate() {
    pb::CreateTicketRequest r;
    r.set_subject("VPN drops every hour");
    r.set_description("Since Monday.");
    r.mutable_requester()->set_external_id("cust-9");
    r.mutable_requester()->set_email("ana@example.com");
    r.mutable_requester()->set_language("pt-BR");
    r.set_priority(common::v1::PRIORITY_HIGH);
    r.set_channel(common::v1::CHANNEL_EMAIL);
    r.add_tags("vpn");
    (*r.mutable_custom_fields())["plan"] = "gold";
    return r;
  }

  static pb::Ticket MustCreate(const std::string& key = "client-a",
                               pb::CreateTicketRequest request = ValidCreate()) {
    pb::Ticket t;
    grpc::Status s = Stub()->CreateTicket(Ctx(key).get(), request, &t);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return t;
  }

  static int64_t Count(const std::string& sql, std::vector<pg::Param> params) {
    auto lease = pool_->Acquire();
    EXPECT_TRUE(lease.ok());
    auto r = (*lease)->Execute(sql, params);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r->Int64(0, 0) : -1;
  }
  static int64_t OutboxRows(const std::string& ticket_id) {
    return Count("SELECT count(*) FROM ticket.outbox WHERE key = $1", {ticket_id});
  }

  static inline testing::MigratedDatabase* db_ = nullptr;
  static inline pg::Pool* pool_ = nullptr;  // db_'s
  static inline rpc::StaticKeyAuthenticator* auth_ = nullptr;
  static inline prometheus::Registry* registry_ = nullptr;
  static inline TicketMetrics* metrics_ = nullptr;
  static inline PgTicketStore* store_ = nullptr;
  static inline SystemClock clock_;
  static inline UuidV7Generator* ids_ = nullptr;
  static inline const api::PageTokenSigner page_tokens_{"integration-test-page-token-key"};
  static inline TicketService* tickets_ = nullptr;
  static inline WorkerPool* workers_ = nullptr;
  static inline TicketServiceHandlers* handlers_ = nullptr;
  static inline rpc::Server* server_ = nullptr;
  static inline std::shared_ptr<grpc::Channel>* channel_ = nullptr;
};

TEST_F(TicketServiceIntegrationTest, FiftyConcurrentDuplicatesMakeOneTicketAndOneEvent) {
  pb::CreateTicketRequest request = ValidCreate();
  request.set_request_id("dup-50");
  request.set_subject("Fifty duplicates");
  constexpr int kCalls = 50;
  std::vector<std::string> ids(kCalls);
  std::vector<grpc::Status> statuses(kCalls);
  std::vector<std::thread> threads;
  for (int i = 0; i < kCalls; ++i) {
    threads.emplace_back([&, i] {
      pb::Ticket t;
      statuses[i] = Stub()->CreateTicket(Ctx("client-a").get(), request, &t);
      ids[i] = t.ticket_id();
    });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < kCalls; ++i) {
    ASSERT_TRUE(statuses[i].ok()) << i << ": " << statuses[i].error_message();
    EXPECT_EQ(ids[i], ids[0]);
  }
  EXPECT_EQ(Count("SELECT count(*) FROM ticket.tickets WHERE subject = 'Fifty duplicates'", {}), 1);
  EXPECT_EQ(OutboxRows(ids[0]), 1);

  // The same request_id with another body says why it is refused.
  request.set_subject("Something else");
  pb::Ticket t;
  grpc::Status s = Stub()->CreateTicket(Ctx("client-a").get(), request, &t);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_THAT(s.error_message(), HasSubstr("different request body"));
  // Another tenant's identical request_id is its own.
  request.set_subject("Fifty duplicates");
  pb::Ticket other = MustCreate("client-b", request);
  EXPECT_NE(other.ticket_id(), ids[0]);
}

TEST_F(TicketServiceIntegrationTest, ExpiredIdempotencyRecordsArePurgedAndLiveOnesKept) {
  pb::CreateTicketRequest request = ValidCreate();
  request.set_request_id("purge-live");
  pb::Ticket live = MustCreate("client-a", request);
  request.set_request_id("purge-expired");
  pb::Ticket expired = MustCreate("client-a", request);
  // Age one record past its window, as 24 hours would.
  ASSERT_EQ(Count("WITH u AS (UPDATE ticket.idempotency_records SET expire_time = now() - "
                  "interval '1 second' WHERE request_id = $1 RETURNING 1) SELECT count(*) FROM u",
                  {"purge-expired"}),
            1);

  int64_t purged = 0;
  for (;;) {  // other tests' records may expire too: purge until a batch comes back short
    auto deleted = store_->PurgeExpiredIdempotencyRecords(absl::Now(), 2);
    ASSERT_TRUE(deleted.ok()) << deleted.status();
    purged += *deleted;
    if (*deleted < 2) break;
  }
  EXPECT_GE(purged, 1);
  EXPECT_EQ(Count("SELECT count(*) FROM ticket.idempotency_records WHERE request_id = $1",
                  {"purge-expired"}),
            0);
  EXPECT_EQ(Count("SELECT count(*) FROM ticket.idempotency_records WHERE request_id = $1",
                  {"purge-live"}),
            1);
  // The live key still replays; the purged one makes a new ticket.
  request.set_request_id("purge-live");
  EXPECT_EQ(MustCreate("client-a", request).ticket_id(), live.ticket_id());
  request.set_request_id("purge-expired");
  EXPECT_NE(MustCreate("client-a", request).ticket_id(), expired.ticket_id());
}

TEST_F(TicketServiceIntegrationTest, AnExpiredRecordNotYetPurgedIsReplacedByANewTicket) {
  pb::CreateTicketRequest request = ValidCreate();
  request.set_request_id("expired-unpurged");
  pb::Ticket first = MustCreate("client-a", request);
  ASSERT_EQ(Count("WITH u AS (UPDATE ticket.idempotency_records SET expire_time = now() - "
                  "interval '1 second' WHERE request_id = $1 RETURNING 1) SELECT count(*) FROM u",
                  {"expired-unpurged"}),
            1);
  // The record is still there, expired: the same request_id makes a new ticket, and the
  // record now names it (a retry replays the new one).
  pb::Ticket second = MustCreate("client-a", request);
  EXPECT_NE(second.ticket_id(), first.ticket_id());
  EXPECT_EQ(MustCreate("client-a", request).ticket_id(), second.ticket_id());
  EXPECT_EQ(Count("SELECT count(*) FROM ticket.idempotency_records WHERE request_id = $1 AND "
                  "resource_id = $2 AND expire_time > now()",
                  {"expired-unpurged", second.ticket_id()}),
            1);
}

TEST_F(TicketServiceIntegrationTest, InvalidUtf8IsInvalidArgumentNamingTheField) {
  // gRPC's parser refuses these before any handler runs; libs/rpc names the field.
  pb::CreateTicketRequest request = ValidCreate();
  request.set_subject("Drucker \xC3\x28 kaputt");
  pb::Ticket t;
  grpc::Status s = Stub()->CreateTicket(Ctx("client-a").get(), request, &t);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
  EXPECT_EQ(s.error_message(), "subject: not valid UTF-8");

  request = ValidCreate();
  request.mutable_requester()->set_name("Ana \xFF");
  s = Stub()->CreateTicket(Ctx("client-a").get(), request, &t);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
  EXPECT_EQ(s.error_message(), "requester.name: not valid UTF-8");
}

TEST_F(TicketServiceIntegrationTest, StaleEtagIsAborted) {
  pb::Ticket t = MustCreate();
  EXPECT_EQ(t.version(), 1);
  pb::TransitionTicketRequest open;
  open.set_ticket_id(t.ticket_id());
  open.set_to_status(pb::TICKET_STATUS_OPEN);
  open.set_etag(t.etag());
  pb::Ticket opened;
  ASSERT_TRUE(Stub()->TransitionTicket(Ctx("client-a").get(), open, &opened).ok());
  EXPECT_EQ(opened.version(), 2);
  EXPECT_NE(opened.etag(), t.etag());

  pb::UpdateTicketRequest update;
  update.mutable_ticket()->set_ticket_id(t.ticket_id());
  update.mutable_ticket()->set_subject("New subject");
  update.mutable_update_mask()->add_paths("subject");
  update.set_etag(t.etag());  // stale
  pb::Ticket out;
  grpc::Status s = Stub()->UpdateTicket(Ctx("client-a").get(), update, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::ABORTED) << s.error_message();
  open.set_to_status(pb::TICKET_STATUS_PENDING);
  s = Stub()->TransitionTicket(Ctx("client-a").get(), open, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::ABORTED) << s.error_message();
  EXPECT_EQ(OutboxRows(t.ticket_id()), 2);

  update.set_etag(opened.etag());
  ASSERT_TRUE(Stub()->UpdateTicket(Ctx("client-a").get(), update, &out).ok());
  EXPECT_EQ(out.subject(), "New subject");
  EXPECT_EQ(out.description(), t.description());  // not in the mask
  EXPECT_EQ(out.version(), 3);

  // An illegal move names both states.
  pb::TransitionTicketRequest close;
  close.set_ticket_id(t.ticket_id());
  close.set_to_status(pb::TICKET_STATUS_CLOSED);
  s = Stub()->TransitionTicket(Ctx("client-a").get(), close, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(s.error_message(), HasSubstr("TICKET_STATUS_OPEN to TICKET_STATUS_CLOSED"));
}

TEST_F(TicketServiceIntegrationTest, EveryValidationErrorNamesItsField) {
  struct Case {
    std::string field;
    std::function<void(pb::CreateTicketRequest&)> mutate;
  };
  const std::vector<Case> cases = {
      {"subject", [](auto& r) { r.set_subject(""); }},
      {"subject", [](auto& r) { r.set_subject(std::string(501, 's')); }},
      {"description", [](auto& r) { r.set_description(std::string(64 * 1024 + 1, 'd')); }},
      {"tags",
       [](auto& r) {
         for (int i = 0; i < 33; ++i) r.add_tags("t");
       }},
      {"tags[1]", [](auto& r) { r.add_tags(std::string(65, 't')); }},
      {"custom_fields",
       [](auto& r) {
         for (int i = 0; i < 65; ++i) (*r.mutable_custom_fields())[absl::StrCat(i)] = "v";
       }},
      {"priority", [](auto& r) { r.set_priority(static_cast<common::v1::Priority>(42)); }},
      {"channel", [](auto& r) { r.set_channel(static_cast<common::v1::Channel>(42)); }},
      {"language", [](auto& r) { r.set_language("en_US"); }},
      {"requester.language", [](auto& r) { r.mutable_requester()->set_language("??"); }},
      {"requester.email", [](auto& r) { r.mutable_requester()->set_email("nope"); }},
      {"requester.time_zone",
       [](auto& r) { r.mutable_requester()->set_time_zone("Nowhere/Else"); }},
      {"category", [](auto& r) { r.set_category(std::string(201, 'c')); }},
      {"required_skills",
       [](auto& r) {
         for (int i = 0; i < 33; ++i) r.add_required_skills("s");
       }},
      {"request_id", [](auto& r) { r.set_request_id(std::string(129, 'r')); }},
  };
  for (const Case& c : cases) {
    pb::CreateTicketRequest r = ValidCreate();
    c.mutate(r);
    pb::Ticket t;
    grpc::Status s = Stub()->CreateTicket(Ctx("client-a").get(), r, &t);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << c.field;
    EXPECT_THAT(s.error_message(), StartsWith(c.field + ": ")) << s.error_message();
  }
  pb::CreateTicketRequest r = ValidCreate();
  r.set_subject("");
  pb::Ticket t;
  EXPECT_EQ(Stub()->CreateTicket(Ctx("client-a").get(), r, &t).error_message(),
            "subject: must be 1–500 characters, got 0");

  pb::ListTicketsRequest list;
  list.set_page_size(-1);
  pb::ListTicketsResponse page;
  grpc::Status s = Stub()->ListTickets(Ctx("client-a").get(), list, &page);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), StartsWith("page_size: "));
  list.set_page_size(10);
  list.set_order_by("subject");
  s = Stub()->ListTickets(Ctx("client-a").get(), list, &page);
  EXPECT_THAT(s.error_message(), StartsWith("order_by: "));
  pb::AddCommentRequest comment;
  comment.set_ticket_id(MustCreate().ticket_id());
  pb::Comment c;
  s = Stub()->AddComment(Ctx("client-a").get(), comment, &c);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), StartsWith("body: "));
}

TEST_F(TicketServiceIntegrationTest, AnotherTenantsTicketIsNotFoundOnEveryRpc) {
  pb::Ticket t = MustCreate("client-a");
  const std::string missing = "0190a000-0000-7000-8000-0000000000ff";
  auto expect_not_found = [&](const std::string& what, auto call) {
    grpc::Status other = call(t.ticket_id());
    grpc::Status none = call(missing);
    EXPECT_EQ(other.error_code(), grpc::StatusCode::NOT_FOUND) << what << other.error_message();
    EXPECT_EQ(none.error_code(), grpc::StatusCode::NOT_FOUND) << what;
    std::string normalized = other.error_message();
    normalized.replace(normalized.find(t.ticket_id()), t.ticket_id().size(), missing);
    EXPECT_EQ(normalized, none.error_message()) << what;
  };
  expect_not_found("GetTicket", [](const std::string& id) {
    pb::GetTicketRequest r;
    r.set_ticket_id(id);
    pb::Ticket out;
    return Stub()->GetTicket(Ctx("client-b").get(), r, &out);
  });
  expect_not_found("UpdateTicket", [](const std::string& id) {
    pb::UpdateTicketRequest r;
    r.mutable_ticket()->set_ticket_id(id);
    r.mutable_ticket()->set_subject("hijack");
    r.mutable_update_mask()->add_paths("subject");
    pb::Ticket out;
    return Stub()->UpdateTicket(Ctx("client-b").get(), r, &out);
  });
  expect_not_found("TransitionTicket", [](const std::string& id) {
    pb::TransitionTicketRequest r;
    r.set_ticket_id(id);
    r.set_to_status(pb::TICKET_STATUS_OPEN);
    pb::Ticket out;
    return Stub()->TransitionTicket(Ctx("client-b").get(), r, &out);
  });
  expect_not_found("AddComment", [](const std::string& id) {
    pb::AddCommentRequest r;
    r.set_ticket_id(id);
    r.set_body("hello from B");
    r.set_public_(true);
    pb::Comment out;
    return Stub()->AddComment(Ctx("client-b").get(), r, &out);
  });
  expect_not_found("ListComments", [](const std::string& id) {
    pb::ListCommentsRequest r;
    r.set_ticket_id(id);
    pb::ListCommentsResponse out;
    return Stub()->ListComments(Ctx("client-b").get(), r, &out);
  });
  expect_not_found("GetTicketHistory", [](const std::string& id) {
    pb::GetTicketHistoryRequest r;
    r.set_ticket_id(id);
    pb::GetTicketHistoryResponse out;
    return Stub()->GetTicketHistory(Ctx("client-b").get(), r, &out);
  });
  // An agent not assigned to it does not see it either.
  expect_not_found("GetTicket as agent", [](const std::string& id) {
    pb::GetTicketRequest r;
    r.set_ticket_id(id);
    pb::Ticket out;
    return Stub()->GetTicket(Ctx("agent-1").get(), r, &out);
  });
  // A client may not assign at all.
  pb::AssignTicketRequest assign;
  assign.set_ticket_id(t.ticket_id());
  assign.set_agent_id("agent-1");
  pb::Ticket out;
  EXPECT_EQ(Stub()->AssignTicket(Ctx("client-b").get(), assign, &out).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Stub()->AssignTicket(Ctx("client-a").get(), assign, &out).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  // B's list shows nothing of A, also when it asks for A's tenant.
  pb::ListTicketsRequest list;
  list.mutable_filter()->set_tenant_id(kTenantA);
  pb::ListTicketsResponse page;
  ASSERT_TRUE(Stub()->ListTickets(Ctx("client-b").get(), list, &page).ok());
  EXPECT_EQ(page.tickets_size(), 0);
  list.clear_filter();
  ASSERT_TRUE(Stub()->ListTickets(Ctx("client-b").get(), list, &page).ok());
  for (const auto& ticket : page.tickets()) EXPECT_EQ(ticket.tenant_id(), kTenantB);

  // No side effect: still version 1, one event, one history entry.
  pb::GetTicketRequest get;
  get.set_ticket_id(t.ticket_id());
  pb::Ticket after;
  ASSERT_TRUE(Stub()->GetTicket(Ctx("client-a").get(), get, &after).ok());
  EXPECT_EQ(after.version(), 1);
  EXPECT_EQ(after.subject(), t.subject());
  EXPECT_EQ(OutboxRows(t.ticket_id()), 1);
  EXPECT_EQ(
      Count("SELECT count(*) FROM ticket.ticket_comments WHERE ticket_id = $1", {t.ticket_id()}),
      0);

  // A's page token is useless to B.
  for (int i = 0; i < 3; ++i) MustCreate("client-a");
  pb::ListTicketsRequest first;
  first.set_page_size(1);
  ASSERT_TRUE(Stub()->ListTickets(Ctx("client-a").get(), first, &page).ok());
  ASSERT_FALSE(page.next_page_token().empty());
  pb::ListTicketsRequest next = first;
  next.set_page_token(page.next_page_token());
  grpc::Status s = Stub()->ListTickets(Ctx("client-b").get(), next, &page);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), StartsWith("page_token: "));
}

TEST_F(TicketServiceIntegrationTest, AssignCommentAndHistory) {
  pb::Ticket t = MustCreate();
  pb::AssignTicketRequest assign;
  assign.set_ticket_id(t.ticket_id());
  assign.set_agent_id("agent-1");
  assign.set_offer_id("offer-7");
  pb::Ticket assigned;
  ASSERT_TRUE(Stub()->AssignTicket(Ctx("routing").get(), assign, &assigned).ok());
  EXPECT_EQ(assigned.assignee_id(), "agent-1");

  pb::AddCommentRequest comment;
  comment.set_ticket_id(t.ticket_id());
  comment.set_request_id("answer-1");
  comment.set_body("We are looking into it.");
  comment.set_public_(true);
  pb::Comment c1, c2;
  ASSERT_TRUE(Stub()->AddComment(Ctx("agent-1").get(), comment, &c1).ok());
  ASSERT_TRUE(Stub()->AddComment(Ctx("agent-1").get(), comment, &c2).ok());
  EXPECT_EQ(c1.comment_id(), c2.comment_id());
  EXPECT_EQ(c1.author_kind(), pb::AUTHOR_KIND_AGENT);
  EXPECT_EQ(c1.author_id(), "agent-1");
  comment.set_request_id("note-1");
  comment.set_body("internal: customer is VIP");
  comment.set_public_(false);
  ASSERT_TRUE(Stub()->AddComment(Ctx("agent-1").get(), comment, &c2).ok());

  pb::GetTicketRequest get;
  get.set_ticket_id(t.ticket_id());
  pb::Ticket now;
  ASSERT_TRUE(Stub()->GetTicket(Ctx("client-a").get(), get, &now).ok());
  EXPECT_TRUE(now.has_first_response_time());
  EXPECT_EQ(now.version(), 4);

  pb::ListCommentsRequest list;
  list.set_ticket_id(t.ticket_id());
  pb::ListCommentsResponse comments;
  ASSERT_TRUE(Stub()->ListComments(Ctx("client-a").get(), list, &comments).ok());
  EXPECT_EQ(comments.comments_size(), 1);  // the internal note is hidden from the client
  ASSERT_TRUE(Stub()->ListComments(Ctx("admin").get(), list, &comments).ok());
  EXPECT_EQ(comments.comments_size(), 2);

  pb::GetTicketHistoryRequest history;
  history.set_ticket_id(t.ticket_id());
  pb::GetTicketHistoryResponse entries;
  ASSERT_TRUE(Stub()->GetTicketHistory(Ctx("admin").get(), history, &entries).ok());
  ASSERT_EQ(entries.entries_size(), 4);
  EXPECT_EQ(entries.entries(1).action(), "TicketAssigned");
  EXPECT_EQ(entries.entries(1).actor().key_id(), "routing");
  ASSERT_EQ(entries.entries(1).changes_size(), 1);
  EXPECT_EQ(entries.entries(1).changes(0).field(), "assignee_id");
  EXPECT_TRUE(entries.entries(1).changes(0).old_value().has_null_value());
  EXPECT_EQ(entries.entries(1).changes(0).new_value().string_value(), "agent-1");
  EXPECT_EQ(entries.entries(2).action(), "CommentAdded");
  EXPECT_EQ(entries.entries(2).comment_id(), c1.comment_id());
  ASSERT_TRUE(Stub()->GetTicketHistory(Ctx("client-a").get(), history, &entries).ok());
  EXPECT_EQ(entries.entries_size(), 3);

  pb::UnassignTicketRequest unassign;
  unassign.set_ticket_id(t.ticket_id());
  pb::Ticket unassigned;
  ASSERT_TRUE(Stub()->UnassignTicket(Ctx("admin").get(), unassign, &unassigned).ok());
  EXPECT_EQ(unassigned.assignee_id(), "");

  // The outbox holds one event per version, in version order, with history's event ids.
  auto lease = pool_->Acquire();
  ASSERT_TRUE(lease.ok());
  auto rows = (*lease)->Execute(
      "SELECT payload, event_type FROM ticket.outbox WHERE key = $1 ORDER BY id", {t.ticket_id()});
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->rows(), 5);
  const std::vector<std::string> types = {"TicketCreated", "TicketAssigned", "CommentAdded",
                                          "CommentAdded", "TicketUnassigned"};
  for (int i = 0; i < rows->rows(); ++i) {
    events::v1::Event e;
    ASSERT_TRUE(e.ParseFromString(*rows->Bytea(i, 0)));
    EXPECT_EQ(e.type(), types[i]);
    EXPECT_EQ(e.sequence(), i + 1);
    EXPECT_EQ(e.source(), "sundesk/ticket");
    EXPECT_EQ(e.subject(), t.ticket_id());
    EXPECT_EQ(e.tenant_id(), kTenantA);
  }
}

TEST_F(TicketServiceIntegrationTest, PaginationReturnsEveryTicketOnceWhileInsertsRun) {
  std::set<std::string> existing;
  for (int i = 0; i < 60; ++i) existing.insert(MustCreate("client-c").ticket_id());
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    while (!stop.load()) MustCreate("client-c");
  });
  for (const char* order : {"create_time desc", "create_time", "priority desc"}) {
    std::vector<std::string> seen;
    pb::ListTicketsRequest request;
    request.set_page_size(7);
    request.set_order_by(order);
    for (int pages = 0; pages < 1000; ++pages) {
      pb::ListTicketsResponse page;
      grpc::Status s = Stub()->ListTickets(Ctx("client-c").get(), request, &page);
      ASSERT_TRUE(s.ok()) << s.error_message();
      for (const auto& t : page.tickets()) seen.push_back(t.ticket_id());
      if (page.next_page_token().empty()) break;
      request.set_page_token(page.next_page_token());
    }
    std::set<std::string> unique(seen.begin(), seen.end());
    EXPECT_EQ(unique.size(), seen.size()) << order << ": a ticket came twice";
    for (const auto& id : existing) EXPECT_TRUE(unique.count(id)) << order << " missed " << id;
  }
  stop = true;
  writer.join();
}

TEST_F(TicketServiceIntegrationTest, MetricsCountCreatesTransitionsAndReplays) {
  auto value = [](const std::string& name, const std::map<std::string, std::string>& labels) {
    double total = 0;
    for (const auto& family : registry_->Collect()) {
      if (family.name != name) continue;
      for (const auto& metric : family.metric) {
        bool match = true;
        for (const auto& [k, v] : labels) {
          bool found = false;
          for (const auto& l : metric.label) found |= (l.name == k && l.value == v);
          match &= found;
        }
        if (match) total += metric.counter.value;
      }
    }
    return total;
  };
  const double created =
      value("sundesk_tickets_created_total", {{"channel", "email"}, {"priority", "high"}});
  const double opened =
      value("sundesk_ticket_transitions_total", {{"from", "new"}, {"to", "open"}});
  const double replays = value("sundesk_idempotent_replays_total", {});
  pb::CreateTicketRequest request = ValidCreate();
  request.set_request_id("metrics-1");
  pb::Ticket t = MustCreate("client-a", request);
  MustCreate("client-a", request);  // a replay
  pb::TransitionTicketRequest open;
  open.set_ticket_id(t.ticket_id());
  open.set_to_status(pb::TICKET_STATUS_OPEN);
  pb::Ticket out;
  ASSERT_TRUE(Stub()->TransitionTicket(Ctx("client-a").get(), open, &out).ok());
  EXPECT_EQ(value("sundesk_tickets_created_total", {{"channel", "email"}, {"priority", "high"}}),
            created + 1);
  EXPECT_EQ(value("sundesk_ticket_transitions_total", {{"from", "new"}, {"to", "open"}}),
            opened + 1);
  EXPECT_EQ(value("sundesk_idempotent_replays_total", {}), replays + 1);
}

}  // namespace
}  // namespace sundesk::ticket
