// Offers end to end against real servers: the ticket service (TenantService and
// TicketService in-process, its outbox relayed to devkafka), routing's queue consumer,
// dispatcher, AgentSession streams and AcceptOffer/RejectOffer over gRPC, a real PostgreSQL
// and redis-server. A ticket created in the ticket service reaches an agent's desktop as an
// offer carrying the tenant's guidelines; accepting it assigns the ticket in the ticket
// service; a rejection or a lapse sends it to the next agent; a closed stream gets nothing;
// routing's events come out on sundesk.routing.events.v1.
#include "services/routing/domain/offers.h"

#include <atomic>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "libs/core/clock.h"
#include "libs/core/ids.h"
#include "libs/core/periodic.h"
#include "libs/core/worker_pool.h"
#include "libs/kafka/consumer.h"
#include "libs/kafka/envelope.h"
#include "libs/kafka/outbox_relay.h"
#include "libs/kafka/producer.h"
#include "libs/pg/migrations.h"
#include "libs/pg/pool.h"
#include "libs/redis/pool.h"
#include "libs/rpc/auth.h"
#include "libs/rpc/client.h"
#include "libs/rpc/server.h"
#include "prometheus/registry.h"
#include "services/routing/api/agent_sessions.h"
#include "services/routing/api/queue_events.h"
#include "services/routing/api/routing_service_handlers.h"
#include "services/routing/domain/agent_directory.h"
#include "services/routing/domain/reconcile.h"
#include "services/routing/domain/router.h"
#include "services/routing/store/grpc_ticket_assigner.h"
#include "services/routing/store/grpc_waiting_tickets.h"
#include "services/routing/store/migrations.h"
#include "services/routing/store/pg_agent_store.h"
#include "services/routing/store/pg_offer_store.h"
#include "services/routing/store/pg_presence_events.h"
#include "services/routing/store/pg_queue_store.h"
#include "services/routing/store/pg_routing_policy_store.h"
#include "services/routing/store/redis_presence_store.h"
#include "services/routing/store/routing_events.h"
#include "services/routing/store/ticket_tenant_directory.h"
#include "services/ticket/api/tenant_service_handlers.h"
#include "services/ticket/api/ticket_service_handlers.h"
#include "services/ticket/domain/tenant_registry.h"
#include "services/ticket/domain/ticket_service.h"
#include "services/ticket/store/pg_tenant_store.h"
#include "services/ticket/store/pg_ticket_store.h"
#include "services/ticket/store/schema.h"
#include "sundesk/routing/v1/routing_service.grpc.pb.h"
#include "tests/support/devkafka_server.h"
#include "tests/support/migrated_database.h"
#include "tests/support/process.h"
#include "tests/support/redis_server.h"

namespace sundesk::routing {
namespace {

namespace pb = ::sundesk::routing::v1;

constexpr char kAdminKey[] = "offers-admin-key";
constexpr char kServiceKey[] = "offers-service-key";
constexpr absl::Duration kSessionPoll = absl::Seconds(30);

std::string AgentKey(const std::string& agent) { return absl::StrCat("agent-key-", agent); }

// An agent desktop: one AgentSession stream, its messages collected by a reader thread.
class Desktop {
 public:
  Desktop(pb::RoutingService::Stub& stub, const std::string& agent)
      : context_(rpc::NewClientContext({.timeout = absl::Seconds(50), .api_key = AgentKey(agent)})),
        stream_(stub.AgentSession(context_.get())) {
    reader_ = std::thread([this] {
      pb::RoutingMessage m;
      while (stream_->Read(&m)) {
        absl::MutexLock lock(&mu_);
        received_.push_back(m);
        arrived_.SignalAll();
      }
      absl::MutexLock lock(&mu_);
      ended_ = true;
      arrived_.SignalAll();
    });
  }
  ~Desktop() { Close(); }

  bool Send(const pb::AgentMessage& m) { return stream_->Write(m); }
  bool SetStatus(pb::PresenceStatus status) {
    pb::AgentMessage m;
    m.mutable_presence()->set_status(status);
    return Send(m);
  }
  bool Accept(const std::string& offer_id) {
    pb::AgentMessage m;
    m.mutable_accept()->set_offer_id(offer_id);
    return Send(m);
  }
  bool Reject(const std::string& offer_id, const std::string& reason = "") {
    pb::AgentMessage m;
    m.mutable_reject()->set_offer_id(offer_id);
    m.mutable_reject()->set_reason(reason);
    return Send(m);
  }

  // The first message not yet taken that matches `pred`, within `timeout`.
  std::optional<pb::RoutingMessage> Next(const std::function<bool(const pb::RoutingMessage&)>& pred,
                                         absl::Duration timeout = absl::Seconds(20)) {
    const absl::Time deadline = absl::Now() + timeout;
    absl::MutexLock lock(&mu_);
    for (;;) {
      for (auto it = received_.begin(); it != received_.end(); ++it) {
        if (pred(*it)) {
          pb::RoutingMessage found = *it;
          received_.erase(it);
          return found;
        }
      }
      if (ended_ || absl::Now() >= deadline) return std::nullopt;
      arrived_.WaitWithDeadline(&mu_, deadline);
    }
  }
  std::optional<pb::RoutingMessage> NextOffer(absl::Duration timeout = absl::Seconds(20)) {
    return Next([](const pb::RoutingMessage& m) { return m.has_offer(); }, timeout);
  }
  std::optional<pb::RoutingMessage> NextAck(absl::Duration timeout = absl::Seconds(20)) {
    return Next([](const pb::RoutingMessage& m) { return m.has_ack(); }, timeout);
  }

  grpc::Status Close() {
    if (closed_) return status_;
    closed_ = true;
    stream_->WritesDone();
    reader_.join();
    status_ = stream_->Finish();
    return status_;
  }

 private:
  std::unique_ptr<grpc::ClientContext> context_;
  std::unique_ptr<grpc::ClientReaderWriter<pb::AgentMessage, pb::RoutingMessage>> stream_;
  std::thread reader_;
  absl::Mutex mu_;
  std::deque<pb::RoutingMessage> received_ ABSL_GUARDED_BY(mu_);
  bool ended_ ABSL_GUARDED_BY(mu_) = false;
  absl::CondVar arrived_;
  bool closed_ = false;
  grpc::Status status_;
};

class OffersTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto db = testing::MigratedDatabase::Start(
        {.schemas = {{"routing", Migrations()}, {ticket::kSchema, ticket::AllMigrations()}},
         .pool = {.size = 32}});
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = db->release();
    pool_ = db_->pool.get();
    dsn_ = db_->dsn;

    auto redis_server = testing::RedisServer::Start();
    ASSERT_TRUE(redis_server.ok()) << redis_server.status();
    redis_server_ = redis_server->release();
    auto redis_pool = redis::Pool::Create({.port = redis_server_->port(), .size = 16});
    ASSERT_TRUE(redis_pool.ok()) << redis_pool.status();
    redis_ = redis_pool->release();

    auto kafka = testing::DevKafka::Start();
    ASSERT_TRUE(kafka.ok()) << kafka.status();
    kafka_ = kafka->release();
    auto producer = kafka::Producer::Create({.bootstrap_servers = kafka_->bootstrap()});
    ASSERT_TRUE(producer.ok()) << producer.status();
    producer_ = producer->release();
    metrics_ = new prometheus::Registry();
    for (const char* schema : {"ticket", "routing"}) {
      auto relay = kafka::OutboxRelay::Create(
          {.dsn = dsn_, .schema = schema, .poll_interval = absl::Milliseconds(50)}, *producer_,
          *metrics_);
      ASSERT_TRUE(relay.ok()) << relay.status();
      kafka::OutboxRelay* r = relay->release();
      relays_.push_back(r);
      relay_threads_.push_back(new std::thread([r] { (void)r->Run(); }));
    }

    clock_ = new SystemClock();
    ids_ = new UuidV7Generator(*clock_);
    tokens_ = new api::PageTokenSigner("offers-test");
    auth_ = new rpc::StaticKeyAuthenticator();
    auth_->Add(kAdminKey, {.role = rpc::Role::kAdmin, .key_id = "admin"});
    auth_->Add(kServiceKey, {.role = rpc::Role::kService, .key_id = "service"});
    // Keys are added before any server reads them (the authenticator is not for writing
    // while in use).
    for (const char* agent : {"ana", "bo", "bea", "bodil", "cai", "cleo", "dag", "disa", "eli",
                              "fia", "gus", "greta", "hana", "hugo", "ivar", "iris", "jon"}) {
      auth_->Add(AgentKey(agent), {.role = rpc::Role::kAgent, .agent_id = agent, .key_id = agent});
    }
    workers_ = new WorkerPool(8, "rpc");

    // The ticket service.
    tenant_store_ = new ticket::PgTenantStore(*pool_);
    tenant_registry_ = new ticket::TenantRegistry(*tenant_store_, *clock_, *ids_, *tokens_);
    ticket_store_ = new ticket::PgTicketStore(*pool_);
    tickets_ = new ticket::TicketService(*ticket_store_, *clock_, *ids_, *tokens_);
    tenant_handlers_ = new ticket::TenantServiceHandlers(*tenant_registry_, *auth_, workers_);
    ticket_handlers_ = new ticket::TicketServiceHandlers(*auth_, *tickets_, workers_);
    rpc::ServerOptions ticket_options;
    ticket_options.services = {{ticket::v1::TenantService::service_full_name(), tenant_handlers_},
                               {ticket::v1::TicketService::service_full_name(), ticket_handlers_}};
    auto ticket_server = rpc::Server::Start(std::move(ticket_options), *metrics_);
    ASSERT_TRUE(ticket_server.ok()) << ticket_server.status();
    ticket_server_ = ticket_server->release();
    auto ticket_channel =
        rpc::MakeChannel({.target = absl::StrCat("127.0.0.1:", ticket_server_->port())});
    ASSERT_TRUE(ticket_channel.ok());
    ticket_channel_ = new std::shared_ptr<grpc::Channel>(*ticket_channel);

    // Routing, as main.cc composes it.
    agent_store_ = new PgAgentStore(*pool_);
    directory_ = new AgentDirectory(*agent_store_, *clock_, *ids_, *tokens_);
    presence_store_ = new RedisPresenceStore(*redis_, "offers:");
    policy_store_ = new PgRoutingPolicyStore(*pool_);
    queue_store_ = new PgQueueStore(*pool_, *clock_, *ids_);
    queue_ = new TicketQueue(*queue_store_, *presence_store_, *policy_store_, *clock_, *tokens_);
    tenant_lookup_ = new ticket::GrpcTenantLookup(*ticket_channel, kServiceKey);
    tenants_ = new TicketTenantDirectory(*tenant_lookup_);
    assigner_ = new GrpcTicketAssigner(*ticket_channel, kServiceKey);
    presence_events_ = new PgPresenceEvents(*pool_, *clock_, *ids_);
    presence_ = new PresenceService(*agent_store_, *presence_store_, *clock_,
                                    {.unary_ttl = absl::Seconds(60)});
    presence_->set_observer(presence_events_);
    policies_ = new RoutingPolicies(*policy_store_, *tenants_, *clock_);
    router_ = new Router(*agent_store_, *presence_store_, *policy_store_, *tenants_, *clock_);
    offer_store_ = new PgOfferStore(*pool_, *clock_, *ids_);
    offers_ = new OfferService(*offer_store_, *agent_store_, *router_, *presence_store_,
                               *policy_store_, *tenants_, *assigner_, *clock_, *ids_);
    // Sessions re-read their offers only every 30 s: every offer in these tests must reach
    // its session through the wake-up on commit (this process made it), long before that.
    sessions_ = new AgentSessions(*offers_, *presence_, *directory_, *auth_, *clock_,
                                  {.poll_interval = kSessionPoll});
    offers_->set_listener(sessions_);
    handlers_ = new RoutingServiceHandlers(*presence_, *policies_, *queue_, *directory_, *offers_,
                                           *sessions_, *auth_, workers_);
    rpc::ServerOptions options;
    options.services = {{pb::RoutingService::service_full_name(), handlers_}};
    options.drain_timeout = absl::Seconds(2);
    auto started = rpc::Server::Start(std::move(options), *metrics_);
    ASSERT_TRUE(started.ok()) << started.status();
    server_ = started->release();
    auto channel = rpc::MakeChannel({.target = absl::StrCat("127.0.0.1:", server_->port())});
    ASSERT_TRUE(channel.ok());
    stub_ = pb::RoutingService::NewStub(*channel).release();
    ticket_stub_ = ticket::v1::TicketService::NewStub(*ticket_channel).release();

    auto consumer = kafka::Consumer::Create(
        {.bootstrap_servers = kafka_->bootstrap(),
         .group_id = "sundesk-routing",
         .topics = {kTicketEventsTopic, kSlaEventsTopic},
         .fetch_wait_max = testing::DevKafka::kFetchWaitMax},
        [](const kafka::Message& m) { return ApplyQueueEvent(*queue_, m); });
    ASSERT_TRUE(consumer.ok()) << consumer.status();
    consumer_ = consumer->release();
    consumer_thread_ = new std::thread([] { (void)consumer_->Run(); });

    // Everything routing publishes, by event id.
    auto watcher = kafka::Consumer::Create({.bootstrap_servers = kafka_->bootstrap(),
                                            .group_id = "routing-events-watcher",
                                            .topics = {std::string(kRoutingEventsTopic)},
                                            .fetch_wait_max = testing::DevKafka::kFetchWaitMax},
                                           [](const kafka::Message& m) {
                                             auto event = kafka::ParseEvent(m);
                                             if (event.ok()) {
                                               absl::MutexLock lock(&events_mu_);
                                               routing_events_[event->event_id()] = *event;
                                             }
                                             return absl::OkStatus();
                                           });
    ASSERT_TRUE(watcher.ok()) << watcher.status();
    watcher_ = watcher->release();
    watcher_thread_ = new std::thread([] { (void)watcher_->Run(); });

    dispatcher_ = new Periodic("dispatch", absl::Milliseconds(100), [] {
      auto routed = offers_->Dispatch();
      if (!routed.ok()) ADD_FAILURE() << "dispatch: " << routed.status();
    });
  }

  static void TearDownTestSuite() {
    delete dispatcher_;
    for (kafka::Consumer* c : {consumer_, watcher_}) {
      if (c != nullptr) c->Stop();
    }
    for (std::thread* t : {consumer_thread_, watcher_thread_}) {
      if (t != nullptr) t->join();
      delete t;
    }
    delete consumer_;
    delete watcher_;
    delete stub_;
    delete ticket_stub_;
    delete ticket_channel_;
    if (server_ != nullptr) server_->Shutdown();
    delete server_;
    if (ticket_server_ != nullptr) ticket_server_->Shutdown();
    delete ticket_server_;
    delete workers_;
    delete sessions_;
    delete handlers_;
    delete offers_;
    delete offer_store_;
    delete router_;
    delete policies_;
    delete presence_;
    delete presence_events_;
    delete assigner_;
    delete tenants_;
    delete tenant_lookup_;
    delete queue_;
    delete queue_store_;
    delete policy_store_;
    delete presence_store_;
    delete directory_;
    delete agent_store_;
    delete ticket_handlers_;
    delete tenant_handlers_;
    delete tickets_;
    delete ticket_store_;
    delete tenant_registry_;
    delete tenant_store_;
    for (kafka::OutboxRelay* r : relays_) r->Stop();
    for (std::thread* t : relay_threads_) {
      t->join();
      delete t;
    }
    for (kafka::OutboxRelay* r : relays_) delete r;
    delete auth_;
    delete tokens_;
    delete ids_;
    delete clock_;
    if (producer_ != nullptr) (void)producer_->Flush(absl::Seconds(5));
    delete producer_;
    delete metrics_;
    delete kafka_;
    delete redis_;
    delete redis_server_;
    delete db_;
  }

  // A client company in OFFER mode (or AUTO_ASSIGN) with its guidelines.
  static std::string NewTenant(const std::string& name, bool auto_assign = false) {
    ticket::Tenant t;
    t.name = name;
    t.time_zone = "Europe/Stockholm";
    t.default_language = "sv";
    t.languages = {"sv", "en"};
    t.guidelines = absl::StrCat("Greet ", name, "'s customers in Swedish; never promise refunds.");
    t.routing_mode = auto_assign ? ticket::RoutingMode::kAutoAssign : ticket::RoutingMode::kOffer;
    auto created = tenant_registry_->CreateTenant("", t);
    EXPECT_TRUE(created.ok()) << created.status();
    return created.ok() ? created->tenant_id : "";
  }

  // An agent certified for `tenant`, speaking Swedish (its AGENT key is made in SetUp).
  static void NewAgent(const std::string& agent_id, const std::string& tenant, int capacity = 3) {
    Agent a;
    a.display_name = agent_id;
    a.languages = {{"sv", 5}};
    a.capacity = capacity;
    a.time_zone = "Europe/Stockholm";
    a.tier = 1;
    a.certifications = {{tenant, std::nullopt}};
    auto created = directory_->CreateAgent("", a, agent_id);
    ASSERT_TRUE(created.ok()) << created.status();
  }

  static std::string NewTicket(const std::string& tenant, const std::string& subject) {
    ticket::CreateTicketInput in;
    in.tenant_id = tenant;
    in.subject = subject;
    in.language = "sv";
    in.requester.email = "kund@example.se";
    auto created =
        tickets_->CreateTicket({.role = ticket::CallerRole::kAdmin, .key_id = "admin"}, in);
    EXPECT_TRUE(created.ok()) << created.status();
    return created.ok() ? created->ticket_id : "";
  }

  static std::string Assignee(const std::string& ticket_id) {
    auto t =
        tickets_->GetTicket({.role = ticket::CallerRole::kAdmin, .key_id = "admin"}, ticket_id);
    EXPECT_TRUE(t.ok()) << t.status();
    return t.ok() ? t->assignee_id : "";
  }

  // An ADMIN's AssignTicket (empty `agent`: UnassignTicket) in the ticket service.
  static void AssignByHand(const std::string& ticket_id, const std::string& agent) {
    const ticket::Caller admin{.role = ticket::CallerRole::kAdmin, .key_id = "admin"};
    if (agent.empty()) {
      auto done = tickets_->UnassignTicket(admin, {.ticket_id = ticket_id});
      ASSERT_TRUE(done.ok()) << done.status();
    } else {
      auto done = tickets_->AssignTicket(admin, {.ticket_id = ticket_id, .agent_id = agent});
      ASSERT_TRUE(done.ok()) << done.status();
    }
  }
  static int Load(const std::string& agent) {
    auto record = presence_store_->Get(agent);
    return record.ok() ? record->active_tickets : -1;
  }

  static std::unique_ptr<grpc::ClientContext> Ctx(const std::string& key) {
    return rpc::NewClientContext({.timeout = absl::Seconds(10), .api_key = key});
  }

  static std::vector<events::v1::Event> EventsOf(const std::string& subject) {
    absl::MutexLock lock(&events_mu_);
    std::vector<events::v1::Event> out;
    for (const auto& [id, e] : routing_events_) {
      if (e.subject() == subject) out.push_back(e);
    }
    return out;
  }
  static bool HasEvent(const std::string& subject, events::v1::Event::PayloadCase kind) {
    for (const auto& e : EventsOf(subject)) {
      if (e.payload_case() == kind) return true;
    }
    return false;
  }

  static inline testing::MigratedDatabase* db_ = nullptr;
  static inline std::string dsn_;
  static inline pg::Pool* pool_ = nullptr;  // db_'s
  static inline testing::RedisServer* redis_server_ = nullptr;
  static inline redis::Pool* redis_ = nullptr;
  static inline testing::DevKafka* kafka_ = nullptr;
  static inline kafka::Producer* producer_ = nullptr;
  static inline prometheus::Registry* metrics_ = nullptr;
  static inline std::vector<kafka::OutboxRelay*> relays_;
  static inline std::vector<std::thread*> relay_threads_;
  static inline SystemClock* clock_ = nullptr;
  static inline UuidV7Generator* ids_ = nullptr;
  static inline api::PageTokenSigner* tokens_ = nullptr;
  static inline rpc::StaticKeyAuthenticator* auth_ = nullptr;
  static inline WorkerPool* workers_ = nullptr;
  static inline ticket::PgTenantStore* tenant_store_ = nullptr;
  static inline ticket::TenantRegistry* tenant_registry_ = nullptr;
  static inline ticket::PgTicketStore* ticket_store_ = nullptr;
  static inline ticket::TicketService* tickets_ = nullptr;
  static inline ticket::TenantServiceHandlers* tenant_handlers_ = nullptr;
  static inline ticket::TicketServiceHandlers* ticket_handlers_ = nullptr;
  static inline rpc::Server* ticket_server_ = nullptr;
  static inline std::shared_ptr<grpc::Channel>* ticket_channel_ = nullptr;
  static inline PgAgentStore* agent_store_ = nullptr;
  static inline AgentDirectory* directory_ = nullptr;
  static inline RedisPresenceStore* presence_store_ = nullptr;
  static inline PgRoutingPolicyStore* policy_store_ = nullptr;
  static inline PgQueueStore* queue_store_ = nullptr;
  static inline TicketQueue* queue_ = nullptr;
  static inline ticket::GrpcTenantLookup* tenant_lookup_ = nullptr;
  static inline TicketTenantDirectory* tenants_ = nullptr;
  static inline GrpcTicketAssigner* assigner_ = nullptr;
  static inline PgPresenceEvents* presence_events_ = nullptr;
  static inline PresenceService* presence_ = nullptr;
  static inline RoutingPolicies* policies_ = nullptr;
  static inline Router* router_ = nullptr;
  static inline PgOfferStore* offer_store_ = nullptr;
  static inline OfferService* offers_ = nullptr;
  static inline AgentSessions* sessions_ = nullptr;
  static inline RoutingServiceHandlers* handlers_ = nullptr;
  static inline rpc::Server* server_ = nullptr;
  static inline pb::RoutingService::Stub* stub_ = nullptr;
  static inline ticket::v1::TicketService::Stub* ticket_stub_ = nullptr;
  static inline kafka::Consumer* consumer_ = nullptr;
  static inline std::thread* consumer_thread_ = nullptr;
  static inline kafka::Consumer* watcher_ = nullptr;
  static inline std::thread* watcher_thread_ = nullptr;
  static inline Periodic* dispatcher_ = nullptr;
  static inline absl::Mutex events_mu_;
  static inline std::map<std::string, events::v1::Event> routing_events_
      ABSL_GUARDED_BY(events_mu_);
};

TEST_F(OffersTest, OfferCarriesTheGuidelinesAndAcceptingAssignsTheTicket) {
  const std::string tenant = NewTenant("Acme");
  NewAgent("ana", tenant);
  Desktop ana(*stub_, "ana");
  ASSERT_TRUE(ana.SetStatus(pb::PRESENCE_STATUS_AVAILABLE));
  ASSERT_TRUE(ana.NextAck().has_value());

  const std::string ticket_id = NewTicket(tenant, "Skrivaren skriver ut tomma sidor");
  auto offer = ana.NextOffer();
  ASSERT_TRUE(offer.has_value()) << "no offer reached the desktop";
  const pb::Offer& o = offer->offer();
  EXPECT_EQ(o.ticket_id(), ticket_id);
  EXPECT_EQ(o.tenant_id(), tenant);
  EXPECT_EQ(o.agent_id(), "ana");
  EXPECT_EQ(o.subject(), "Skrivaren skriver ut tomma sidor");
  EXPECT_EQ(o.language(), "sv");
  EXPECT_EQ(o.guidelines(), "Greet Acme's customers in Swedish; never promise refunds.");
  EXPECT_EQ(o.stage(), 0);
  EXPECT_GT(o.expire_time().seconds(), absl::ToUnixSeconds(absl::Now()));

  // The open offer shows on the agent's presence too, and holds one unit of capacity.
  {
    pb::GetPresenceRequest req;
    pb::Presence presence;
    auto ctx = Ctx(AgentKey("ana"));
    ASSERT_TRUE(stub_->GetPresence(ctx.get(), req, &presence).ok());
    EXPECT_EQ(presence.status(), pb::PRESENCE_STATUS_AVAILABLE);
    ASSERT_EQ(presence.open_offers_size(), 1);
    EXPECT_EQ(presence.open_offers(0).offer_id(), o.offer_id());
    EXPECT_EQ(presence.active_tickets(), 1);
  }

  ASSERT_TRUE(ana.Accept(o.offer_id()));
  auto ack = ana.NextAck();
  ASSERT_TRUE(ack.has_value());
  EXPECT_EQ(ack->ack().offer_id(), o.offer_id());
  EXPECT_EQ(ack->ack().ticket_id(), ticket_id);
  EXPECT_EQ(Assignee(ticket_id), "ana");  // assigned in the ticket service before the ack

  // Accepting again returns the same offer; the ticket has left the queue.
  pb::AcceptOfferRequest again;
  again.set_offer_id(o.offer_id());
  pb::AcceptOfferResponse accepted;
  auto ctx = Ctx(AgentKey("ana"));
  ASSERT_TRUE(stub_->AcceptOffer(ctx.get(), again, &accepted).ok());
  EXPECT_EQ(accepted.offer().ticket_id(), ticket_id);
  EXPECT_TRUE(testing::WaitFor(
      [&] {
        auto page = queue_->List("test", {.tenant_id = tenant}, std::nullopt, 50, "");
        return page.ok() && page->tickets.empty();
      },
      absl::Seconds(10)));

  // Routing's events, through its outbox: TicketQueued, OfferMade and OfferAccepted with
  // the stage.
  EXPECT_TRUE(testing::WaitFor(
      [&] {
        return HasEvent(ticket_id, events::v1::Event::kTicketQueued) &&
               HasEvent(ticket_id, events::v1::Event::kOfferMade) &&
               HasEvent(ticket_id, events::v1::Event::kOfferAccepted);
      },
      absl::Seconds(20)));
  for (const auto& e : EventsOf(ticket_id)) {
    EXPECT_EQ(e.source(), "sundesk/routing");
    EXPECT_EQ(e.tenant_id(), tenant);
    if (e.has_ticket_queued()) {
      EXPECT_EQ(e.ticket_queued().language(), "sv");
      EXPECT_EQ(e.sequence(), 1);
    }
    if (e.has_offer_made()) EXPECT_EQ(e.offer_made().offer().offer_id(), o.offer_id());
    if (e.has_offer_accepted()) {
      EXPECT_EQ(e.offer_accepted().agent_id(), "ana");
      EXPECT_EQ(e.offer_accepted().stage(), 0);
    }
  }
  EXPECT_TRUE(
      testing::WaitFor([&] { return HasEvent("ana", events::v1::Event::kAgentPresenceChanged); },
                       absl::Seconds(20)));
}

TEST_F(OffersTest, AnOfferReachesTheOpenSessionWithoutWaitingForThePoll) {
  const std::string tenant = NewTenant("Vandelay");
  NewAgent("jon", tenant);
  Desktop jon(*stub_, "jon");
  ASSERT_TRUE(jon.SetStatus(pb::PRESENCE_STATUS_AVAILABLE));
  ASSERT_TRUE(jon.NextAck().has_value());
  // The session was opened (and read its offers) before the ticket existed, and its next
  // poll is 30 s away: only the wake-up on the offer's commit can bring it sooner.
  const std::string ticket_id = NewTicket(tenant, "Fakturan saknas");
  auto offer = jon.NextOffer(kSessionPoll / 3);
  ASSERT_TRUE(offer.has_value()) << "the offer did not reach the session before the poll";
  EXPECT_EQ(offer->offer().ticket_id(), ticket_id);
}

TEST_F(OffersTest, ARejectedTicketGoesToTheNextAgentAndNeverBack) {
  const std::string tenant = NewTenant("Globex");
  NewAgent("bo", tenant);
  NewAgent("bea", tenant);
  Desktop bo(*stub_, "bo");
  Desktop bea(*stub_, "bea");
  for (Desktop* d : {&bo, &bea}) {
    ASSERT_TRUE(d->SetStatus(pb::PRESENCE_STATUS_AVAILABLE));
    ASSERT_TRUE(d->NextAck().has_value());
  }
  const std::string ticket_id = NewTicket(tenant, "VPN drops every hour");

  // Whoever gets it first rejects it; the other one gets it next.
  std::optional<pb::RoutingMessage> first;
  Desktop* first_desk = nullptr;
  Desktop* second_desk = nullptr;
  ASSERT_TRUE(testing::WaitFor(
      [&] {
        if ((first = bo.NextOffer(absl::Milliseconds(50)))) {
          first_desk = &bo;
          second_desk = &bea;
        } else if ((first = bea.NextOffer(absl::Milliseconds(50)))) {
          first_desk = &bea;
          second_desk = &bo;
        }
        return first.has_value();
      },
      absl::Seconds(20)));
  ASSERT_EQ(first->offer().ticket_id(), ticket_id);
  ASSERT_TRUE(first_desk->Reject(first->offer().offer_id(), "not my area"));
  auto ack = first_desk->NextAck();
  ASSERT_TRUE(ack.has_value());
  EXPECT_EQ(ack->ack().offer_id(), first->offer().offer_id());

  auto second = second_desk->NextOffer();
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->offer().ticket_id(), ticket_id);
  EXPECT_NE(second->offer().agent_id(), first->offer().agent_id());

  // Rejecting again changes nothing; accepting the rejected offer is refused.
  pb::RejectOfferRequest reject;
  reject.set_offer_id(first->offer().offer_id());
  pb::RejectOfferResponse rejected;
  auto ctx = Ctx(AgentKey(first->offer().agent_id()));
  EXPECT_TRUE(stub_->RejectOffer(ctx.get(), reject, &rejected).ok());
  pb::AcceptOfferRequest accept;
  accept.set_offer_id(first->offer().offer_id());
  pb::AcceptOfferResponse accepted;
  ctx = Ctx(AgentKey(first->offer().agent_id()));
  EXPECT_EQ(stub_->AcceptOffer(ctx.get(), accept, &accepted).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);

  // The second agent rejects too: with nobody else left, the ticket waits, offered to
  // neither again, and neither holds capacity for it.
  ASSERT_TRUE(second_desk->Reject(second->offer().offer_id()));
  ASSERT_TRUE(second_desk->NextAck().has_value());
  EXPECT_TRUE(testing::WaitFor(
      [&] {
        return presence_store_->Get("bo")->active_tickets == 0 &&
               presence_store_->Get("bea")->active_tickets == 0;
      },
      absl::Seconds(10)));
  // A third agent who comes on shift gets it.
  NewAgent("bodil", tenant);
  Desktop bodil(*stub_, "bodil");
  ASSERT_TRUE(bodil.SetStatus(pb::PRESENCE_STATUS_AVAILABLE));
  auto third = bodil.NextOffer();
  ASSERT_TRUE(third.has_value());
  EXPECT_EQ(third->offer().ticket_id(), ticket_id);
  EXPECT_FALSE(
      bo.Next([](const pb::RoutingMessage& m) { return m.has_offer(); }, absl::Milliseconds(1))
          .has_value());
  EXPECT_FALSE(
      bea.Next([](const pb::RoutingMessage& m) { return m.has_offer(); }, absl::Milliseconds(1))
          .has_value());
  EXPECT_TRUE(testing::WaitFor(
      [&] { return HasEvent(ticket_id, events::v1::Event::kOfferRejected); }, absl::Seconds(20)));
}

TEST_F(OffersTest, AnOfferThatLapsesIsWithdrawnAndOfferedToAnother) {
  const std::string tenant = NewTenant("Initech");
  // The shortest timeout the policy allows.
  pb::UpdateRoutingPolicyRequest update;
  update.mutable_routing_policy()->set_tenant_id(tenant);
  update.mutable_routing_policy()->mutable_offer_timeout()->set_seconds(5);
  update.mutable_update_mask()->add_paths("offer_timeout");
  pb::RoutingPolicy policy;
  auto ctx = Ctx(kAdminKey);
  ASSERT_TRUE(stub_->UpdateRoutingPolicy(ctx.get(), update, &policy).ok());
  NewAgent("cai", tenant);
  NewAgent("cleo", tenant);
  Desktop cai(*stub_, "cai");
  ASSERT_TRUE(cai.SetStatus(pb::PRESENCE_STATUS_AVAILABLE));
  ASSERT_TRUE(cai.NextAck().has_value());

  const std::string ticket_id = NewTicket(tenant, "Invoice PDF is empty");
  auto first = cai.NextOffer();
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->offer().expire_time().seconds() - absl::ToUnixSeconds(absl::Now()) <= 5, true);
  Desktop cleo(*stub_, "cleo");
  ASSERT_TRUE(cleo.SetStatus(pb::PRESENCE_STATUS_AVAILABLE));

  // Cai lets it lapse: withdrawn as EXPIRED, and it goes to Cleo.
  auto withdrawn = cai.Next([](const pb::RoutingMessage& m) { return m.has_offer_withdrawn(); });
  ASSERT_TRUE(withdrawn.has_value());
  EXPECT_EQ(withdrawn->offer_withdrawn().offer_id(), first->offer().offer_id());
  EXPECT_EQ(withdrawn->offer_withdrawn().reason(), pb::OFFER_WITHDRAWN_REASON_EXPIRED);
  auto second = cleo.NextOffer();
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->offer().ticket_id(), ticket_id);

  // The lapsed offer can no longer be accepted: FAILED_PRECONDITION, and on the stream an
  // offer_withdrawn instead of an ack.
  pb::AcceptOfferRequest accept;
  accept.set_offer_id(first->offer().offer_id());
  pb::AcceptOfferResponse accepted;
  ctx = Ctx(AgentKey("cai"));
  EXPECT_EQ(stub_->AcceptOffer(ctx.get(), accept, &accepted).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  ASSERT_TRUE(cai.Accept(first->offer().offer_id()));
  auto refused = cai.Next([](const pb::RoutingMessage& m) { return m.has_offer_withdrawn(); });
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(refused->offer_withdrawn().reason(), pb::OFFER_WITHDRAWN_REASON_EXPIRED);
  EXPECT_EQ(presence_store_->Get("cai")->active_tickets, 0);  // its claim went back

  // Cleo accepts through the unary RPC.
  accept.set_offer_id(second->offer().offer_id());
  ctx = Ctx(AgentKey("cleo"));
  ASSERT_TRUE(stub_->AcceptOffer(ctx.get(), accept, &accepted).ok());
  EXPECT_EQ(Assignee(ticket_id), "cleo");
  EXPECT_TRUE(testing::WaitFor(
      [&] { return HasEvent(ticket_id, events::v1::Event::kOfferExpired); }, absl::Seconds(20)));
}

TEST_F(OffersTest, AClosedStreamMakesTheAgentOfflineAndGetsNoOffers) {
  const std::string tenant = NewTenant("Umbrella");
  NewAgent("dag", tenant);
  NewAgent("disa", tenant);
  {
    Desktop dag(*stub_, "dag");
    ASSERT_TRUE(dag.SetStatus(pb::PRESENCE_STATUS_AVAILABLE));
    ASSERT_TRUE(dag.NextAck().has_value());
    EXPECT_TRUE(dag.Close().ok());
  }
  EXPECT_TRUE(testing::WaitFor(
      [&] { return presence_store_->Get("dag")->status == PresenceStatus::kOffline; },
      absl::Seconds(10)));
  const std::string ticket_id = NewTicket(tenant, "Cannot log in");
  // Disa connects later and gets it; Dag, offline, never had an offer.
  Desktop disa(*stub_, "disa");
  ASSERT_TRUE(disa.SetStatus(pb::PRESENCE_STATUS_AVAILABLE));
  auto offer = disa.NextOffer();
  ASSERT_TRUE(offer.has_value());
  EXPECT_EQ(offer->offer().ticket_id(), ticket_id);
  auto conn = pool_->Acquire();
  ASSERT_TRUE(conn.ok());
  auto r = (*conn)->Execute("SELECT count(*) AS n FROM routing.offers WHERE agent_id = 'dag'");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*r->Int64(0, "n"), 0);

  // Disa's stream closes with the offer open: it is withdrawn and its capacity released.
  EXPECT_TRUE(disa.Close().ok());
  EXPECT_TRUE(testing::WaitFor(
      [&] {
        auto o = offer_store_->Get(offer->offer().offer_id());
        return o.ok() && o->state == OfferState::kWithdrawn &&
               presence_store_->Get("disa")->active_tickets == 0 &&
               presence_store_->Get("disa")->status == PresenceStatus::kOffline;
      },
      absl::Seconds(10)));
}

TEST_F(OffersTest, SessionErrors) {
  const std::string tenant = NewTenant("Hooli");
  NewAgent("eli", tenant);
  {
    // Not an AGENT key.
    auto ctx = Ctx(kAdminKey);
    auto stream = stub_->AgentSession(ctx.get());
    pb::RoutingMessage m;
    while (stream->Read(&m)) {
    }
    EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::PERMISSION_DENIED);
  }
  {
    Desktop eli(*stub_, "eli");
    pb::AgentMessage offline;
    offline.mutable_presence()->set_status(pb::PRESENCE_STATUS_OFFLINE);
    ASSERT_TRUE(eli.Send(offline));
    grpc::Status st = eli.Close();
    EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(st.error_message(), ::testing::HasSubstr("presence.status"));
  }
  {
    Desktop eli(*stub_, "eli");
    ASSERT_TRUE(eli.Send(pb::AgentMessage()));
    grpc::Status st = eli.Close();
    EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(st.error_message(), ::testing::HasSubstr("kind"));
  }
  {
    // A second session of the same agent takes over; the first ends with ABORTED.
    Desktop first(*stub_, "eli");
    ASSERT_TRUE(first.SetStatus(pb::PRESENCE_STATUS_AWAY));
    ASSERT_TRUE(first.NextAck().has_value());
    Desktop second(*stub_, "eli");
    ASSERT_TRUE(second.SetStatus(pb::PRESENCE_STATUS_AVAILABLE));
    ASSERT_TRUE(second.NextAck().has_value());
    EXPECT_EQ(first.Close().error_code(), grpc::StatusCode::ABORTED);
    // An unknown offer answers with offer_withdrawn(UNKNOWN_OFFER), and the session goes on.
    ASSERT_TRUE(second.Accept("0190a000-0000-7000-8000-000000000001"));
    auto w = second.Next([](const pb::RoutingMessage& m) { return m.has_offer_withdrawn(); });
    ASSERT_TRUE(w.has_value());
    EXPECT_EQ(w->offer_withdrawn().reason(), pb::OFFER_WITHDRAWN_REASON_UNKNOWN_OFFER);
    ASSERT_TRUE(second.Reject("0190a000-0000-7000-8000-000000000001", std::string(501, 'x')));
    grpc::Status st = second.Close();
    EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(st.error_message(), ::testing::HasSubstr("reject.reason"));
  }
  // Unary answers: empty, unknown and foreign offers.
  pb::AcceptOfferRequest accept;
  pb::AcceptOfferResponse accepted;
  auto ctx = Ctx(AgentKey("eli"));
  grpc::Status st = stub_->AcceptOffer(ctx.get(), accept, &accepted);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(st.error_message(), ::testing::HasSubstr("offer_id"));
  accept.set_offer_id("not-an-offer");
  ctx = Ctx(AgentKey("eli"));
  EXPECT_EQ(stub_->AcceptOffer(ctx.get(), accept, &accepted).error_code(),
            grpc::StatusCode::NOT_FOUND);
  ctx = Ctx(kAdminKey);
  EXPECT_EQ(stub_->AcceptOffer(ctx.get(), accept, &accepted).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  pb::RejectOfferRequest reject;
  reject.set_offer_id("0190a000-0000-7000-8000-000000000001");
  reject.set_reason(std::string(501, 'x'));
  pb::RejectOfferResponse rejected;
  ctx = Ctx(AgentKey("eli"));
  st = stub_->RejectOffer(ctx.get(), reject, &rejected);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(st.error_message(), ::testing::HasSubstr("reason"));
}

TEST_F(OffersTest, AutoAssignModeAssignsWithoutAnOffer) {
  const std::string tenant = NewTenant("Soylent", /*auto_assign=*/true);
  NewAgent("fia", tenant);
  pb::SetPresenceRequest set;
  set.set_status(pb::PRESENCE_STATUS_AVAILABLE);
  pb::Presence presence;
  auto ctx = Ctx(AgentKey("fia"));
  ASSERT_TRUE(stub_->SetPresence(ctx.get(), set, &presence).ok());
  const std::string ticket_id = NewTicket(tenant, "Reset my password");
  EXPECT_TRUE(testing::WaitFor([&] { return Assignee(ticket_id) == "fia"; }, absl::Seconds(20)));
  EXPECT_EQ(presence_store_->Get("fia")->active_tickets, 1);
  auto conn = pool_->Acquire();
  ASSERT_TRUE(conn.ok());
  auto r = (*conn)->Execute("SELECT count(*) AS n FROM routing.offers WHERE agent_id = 'fia'");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*r->Int64(0, "n"), 0);

  // Solving the ticket gives the capacity back (from the ticket events).
  for (auto to : {ticket::TicketStatus::kOpen, ticket::TicketStatus::kSolved}) {
    auto moved = tickets_->TransitionTicket({.role = ticket::CallerRole::kAdmin, .key_id = "a"},
                                            {.ticket_id = ticket_id, .to_status = to});
    ASSERT_TRUE(moved.ok()) << moved.status();
  }
  EXPECT_TRUE(testing::WaitFor([&] { return presence_store_->Get("fia")->active_tickets == 0; },
                               absl::Seconds(20)));
}

TEST_F(OffersTest, AnAgentWhoseShiftEndedLosesItsOpenOffersToOneOnShift) {
  const std::string tenant = NewTenant("Wayne");
  NewAgent("gus", tenant);
  Desktop gus(*stub_, "gus");
  ASSERT_TRUE(gus.SetStatus(pb::PRESENCE_STATUS_AVAILABLE));
  ASSERT_TRUE(gus.NextAck().has_value());
  const std::string ticket_id = NewTicket(tenant, "Laptop will not boot");
  auto offer = gus.NextOffer();
  ASSERT_TRUE(offer.has_value());
  NewAgent("greta", tenant);
  Desktop greta(*stub_, "greta");
  ASSERT_TRUE(greta.SetStatus(pb::PRESENCE_STATUS_AVAILABLE));

  // Gus's shift is over: a single shift that ended a minute ago in his zone.
  const absl::TimeZone zone = [] {
    absl::TimeZone z;
    EXPECT_TRUE(absl::LoadTimeZone("Europe/Stockholm", &z));
    return z;
  }();
  const absl::CivilMinute now = absl::ToCivilMinute(absl::Now(), zone);
  const absl::CivilMinute start = now - 120;
  const absl::CivilMinute end = now - 1;
  Agent changes;
  changes.agent_id = "gus";
  changes.shifts = {{static_cast<int>(absl::GetWeekday(absl::CivilDay(start))) + 1,
                     absl::FormatCivilTime(start).substr(11, 5),
                     absl::FormatCivilTime(end).substr(11, 5)}};
  auto updated = directory_->UpdateAgent(changes, {"shifts"}, "");
  ASSERT_TRUE(updated.ok()) << updated.status();

  auto withdrawn = gus.Next([](const pb::RoutingMessage& m) { return m.has_offer_withdrawn(); });
  ASSERT_TRUE(withdrawn.has_value());
  EXPECT_EQ(withdrawn->offer_withdrawn().offer_id(), offer->offer().offer_id());
  EXPECT_EQ(withdrawn->offer_withdrawn().reason(), pb::OFFER_WITHDRAWN_REASON_AGENT_UNAVAILABLE);
  auto next = greta.NextOffer();
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(next->offer().ticket_id(), ticket_id);
  EXPECT_EQ(next->offer().agent_id(), "greta");
}

TEST_F(OffersTest, StartUpReconciliationQueuesOpenTicketsRoutingDoesNotHold) {
  const std::string tenant = NewTenant("Stark");  // no agents: its tickets wait
  const std::string ticket_id = NewTicket(tenant, "Badge reader offline");
  auto queued = [&] {
    auto page = queue_->List("test", {.tenant_id = tenant}, std::nullopt, 50, "");
    return page.ok() && page->tickets.size() == 1 &&
           page->tickets[0].entry.ticket.ticket_id == ticket_id;
  };
  ASSERT_TRUE(testing::WaitFor(queued, absl::Seconds(20)));
  // Routing loses its copy (as if the event never reached it).
  auto conn = pool_->Acquire();
  ASSERT_TRUE(conn.ok());
  ASSERT_TRUE(
      (*conn)->Execute("DELETE FROM routing.tickets WHERE ticket_id = $1::uuid", {ticket_id}).ok());
  ASSERT_FALSE(queued());

  GrpcWaitingTickets waiting(*ticket_channel_, kServiceKey);
  auto read = ReconcileQueue(*queue_, waiting, *clock_);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_GE(*read, 1);
  EXPECT_TRUE(queued());
  // Running it again changes nothing.
  ASSERT_TRUE(ReconcileQueue(*queue_, waiting, *clock_).ok());
  EXPECT_TRUE(queued());
}

TEST_F(OffersTest, TicketsAssignedByHandCountInTheLoadUntilTheyLeaveTheAgent) {
  const std::string tenant = NewTenant("Tyrell");
  NewAgent("hana", tenant, /*capacity=*/1);
  NewAgent("hugo", tenant);
  // Nobody is available: the ticket waits, and an admin gives it to Hana by hand.
  const std::string first = NewTicket(tenant, "Projector shows no picture");
  auto queued = [&](const std::string& ticket_id) {
    auto page = queue_->List("test", {.tenant_id = tenant}, std::nullopt, 50, "");
    if (!page.ok()) return false;
    for (const auto& t : page->tickets) {
      if (t.entry.ticket.ticket_id == ticket_id) return true;
    }
    return false;
  };
  ASSERT_TRUE(testing::WaitFor([&] { return queued(first); }, absl::Seconds(20)));
  AssignByHand(first, "hana");
  EXPECT_TRUE(testing::WaitFor([&] { return Load("hana") == 1; }, absl::Seconds(20)));

  // Hana is full (capacity 1): a new ticket goes to Hugo although both are available.
  Desktop hana(*stub_, "hana");
  Desktop hugo(*stub_, "hugo");
  for (Desktop* d : {&hana, &hugo}) {
    ASSERT_TRUE(d->SetStatus(pb::PRESENCE_STATUS_AVAILABLE));
    ASSERT_TRUE(d->NextAck().has_value());
  }
  const std::string second = NewTicket(tenant, "Mouse double-clicks");
  auto offer = hugo.NextOffer();
  ASSERT_TRUE(offer.has_value());
  EXPECT_EQ(offer->offer().ticket_id(), second);
  ASSERT_TRUE(hugo.Accept(offer->offer().offer_id()));
  ASSERT_TRUE(hugo.NextAck().has_value());
  EXPECT_FALSE(hana.NextOffer(absl::Milliseconds(1)).has_value());

  // Reassigned by hand to Hugo: Hana's load drops, Hugo's counts both.
  AssignByHand(first, "hugo");
  EXPECT_TRUE(
      testing::WaitFor([&] { return Load("hana") == 0 && Load("hugo") == 2; }, absl::Seconds(20)))
      << "hana " << Load("hana") << ", hugo " << Load("hugo");
  // Unassigned: Hugo's load drops and the ticket waits again; Hana, free now, gets it.
  AssignByHand(first, "");
  EXPECT_TRUE(testing::WaitFor([&] { return Load("hugo") == 1; }, absl::Seconds(20)));
  auto again = hana.NextOffer();
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->offer().ticket_id(), first);
  ASSERT_TRUE(hana.Reject(again->offer().offer_id()));
  ASSERT_TRUE(hana.NextAck().has_value());
  EXPECT_TRUE(testing::WaitFor([&] { return Load("hana") == 0; }, absl::Seconds(20)));

  // Assigned by hand to Hugo again and solved: his load drops; so does closing the other.
  AssignByHand(first, "hugo");
  EXPECT_TRUE(testing::WaitFor([&] { return Load("hugo") == 2; }, absl::Seconds(20)));
  const ticket::Caller admin{.role = ticket::CallerRole::kAdmin, .key_id = "admin"};
  for (auto to : {ticket::TicketStatus::kOpen, ticket::TicketStatus::kSolved}) {
    (void)tickets_->TransitionTicket(admin, {.ticket_id = first, .to_status = to});
  }
  EXPECT_TRUE(testing::WaitFor([&] { return Load("hugo") == 1; }, absl::Seconds(20)));
  // The other one goes all the way to CLOSED (through SOLVED, as the workflow requires).
  for (auto to : {ticket::TicketStatus::kOpen, ticket::TicketStatus::kSolved,
                  ticket::TicketStatus::kClosed}) {
    auto moved = tickets_->TransitionTicket(admin, {.ticket_id = second, .to_status = to});
    ASSERT_TRUE(moved.ok()) << moved.status();
  }
  EXPECT_TRUE(testing::WaitFor([&] { return Load("hugo") == 0; }, absl::Seconds(20)));
}

TEST_F(OffersTest, AnAcceptAfterAHandReassignmentDoesNotTakeTheTicketOver) {
  const std::string tenant = NewTenant("Cyberdyne");
  NewAgent("ivar", tenant);
  NewAgent("iris", tenant);
  Desktop ivar(*stub_, "ivar");
  ASSERT_TRUE(ivar.SetStatus(pb::PRESENCE_STATUS_AVAILABLE));
  ASSERT_TRUE(ivar.NextAck().has_value());
  const std::string ticket_id = NewTicket(tenant, "Phone system down");
  auto offer = ivar.NextOffer();
  ASSERT_TRUE(offer.has_value());

  // An admin gives the ticket to Iris while Ivar's offer is open, and Ivar accepts at once:
  // whether routing has heard of the reassignment yet or not, the accept is refused and the
  // ticket stays Iris's.
  AssignByHand(ticket_id, "iris");
  pb::AcceptOfferRequest accept;
  accept.set_offer_id(offer->offer().offer_id());
  pb::AcceptOfferResponse accepted;
  auto ctx = Ctx(AgentKey("ivar"));
  grpc::Status st = stub_->AcceptOffer(ctx.get(), accept, &accepted);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << st.error_message();
  EXPECT_EQ(Assignee(ticket_id), "iris");
  EXPECT_TRUE(
      testing::WaitFor([&] { return Load("ivar") == 0 && Load("iris") == 1; }, absl::Seconds(20)))
      << "ivar " << Load("ivar") << ", iris " << Load("iris");
  auto stored = offer_store_->Get(offer->offer().offer_id());
  ASSERT_TRUE(stored.ok()) << stored.status();
  EXPECT_EQ(stored->state, OfferState::kWithdrawn);

  // The check itself, without the race: routing's assigner never takes over a ticket that
  // has an assignee, and reports who has it.
  const std::string other = NewTicket(tenant, "Fax eats paper");
  AssignByHand(other, "iris");
  auto result = assigner_->Assign(other, "ivar", "", 0);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->assignee_id, "iris");
  EXPECT_EQ(Assignee(other), "iris");
  auto current = assigner_->Current(other);
  ASSERT_TRUE(current.ok()) << current.status();
  EXPECT_EQ(current->assignee_id, "iris");
  EXPECT_GT(current->version, 1);
}

}  // namespace
}  // namespace sundesk::routing
