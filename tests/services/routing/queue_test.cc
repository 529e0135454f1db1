// The queue against real servers: ticket and SLA events produced to devkafka are consumed
// by routing's consumer and applied to the queue in a real PostgreSQL; assignments release
// load in a real redis-server. Redelivered and out-of-date events change nothing, and the
// queue is still there for a new process (a restart) because it lives in PostgreSQL.
#include "services/routing/domain/queue.h"

#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/core/clock.h"
#include "libs/core/ids.h"
#include "libs/kafka/consumer.h"
#include "libs/kafka/envelope.h"
#include "libs/kafka/producer.h"
#include "libs/pg/migrations.h"
#include "libs/pg/pool.h"
#include "libs/redis/pool.h"
#include "prometheus/registry.h"
#include "services/routing/api/queue_events.h"
#include "services/routing/api/queue_metrics.h"
#include "services/routing/store/migrations.h"
#include "services/routing/store/pg_queue_store.h"
#include "services/routing/store/pg_routing_policy_store.h"
#include "services/routing/store/redis_presence_store.h"
#include "tests/support/devkafka_server.h"
#include "tests/support/postgres_server.h"
#include "tests/support/process.h"
#include "tests/support/redis_server.h"

namespace sundesk::routing {
namespace {

using ::testing::ElementsAre;

constexpr char kTenant[] = "0190a000-0000-7000-8000-00000000000a";
constexpr char kOtherTenant[] = "0190a000-0000-7000-8000-00000000000b";

class QueueTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto pg_server = testing::PostgresServer::Start();
    ASSERT_TRUE(pg_server.ok()) << pg_server.status();
    postgres_ = pg_server->release();
    auto dsn = postgres_->CreateDatabase("routing");
    ASSERT_TRUE(dsn.ok()) << dsn.status();
    auto pool = pg::Pool::Create({.dsn = *dsn});
    ASSERT_TRUE(pool.ok()) << pool.status();
    pool_ = pool->release();
    ASSERT_TRUE(pg::RunMigrations(*pool_, "routing", Migrations()).ok());
    auto redis_server = testing::RedisServer::Start();
    ASSERT_TRUE(redis_server.ok()) << redis_server.status();
    redis_server_ = redis_server->release();
    auto redis_pool = redis::Pool::Create({.port = redis_server_->port()});
    ASSERT_TRUE(redis_pool.ok());
    redis_ = redis_pool->release();
    auto kafka = testing::DevKafka::Start();
    ASSERT_TRUE(kafka.ok()) << kafka.status();
    kafka_ = kafka->release();
    auto producer = kafka::Producer::Create({.bootstrap_servers = kafka_->bootstrap()});
    ASSERT_TRUE(producer.ok()) << producer.status();
    producer_ = producer->release();

    clock_ = new SystemClock();
    ids_ = new UuidV7Generator(*clock_);
    tokens_ = new api::PageTokenSigner("queue-test");
    store_ = new PgQueueStore(*pool_, *clock_, *ids_);
    presence_ = new RedisPresenceStore(*redis_, "test:routing:");
    // The loads start known (routing's dispatcher would rebuild them; none here yet).
    ASSERT_TRUE(presence_->MarkLoadsReady().ok());
    policies_ = new PgRoutingPolicyStore(*pool_);
    queue_ = new TicketQueue(*store_, *presence_, *policies_, *clock_, *tokens_);
    StartConsumer();
  }

  static void StartConsumer() {
    kafka::ConsumerOptions options;
    options.bootstrap_servers = kafka_->bootstrap();
    options.group_id = "sundesk-routing-test";
    options.topics = {kTicketEventsTopic, kSlaEventsTopic};
    options.fetch_wait_max = testing::DevKafka::kFetchWaitMax;
    auto consumer = kafka::Consumer::Create(
        options, [](const kafka::Message& m) { return ApplyQueueEvent(*queue_, m); });
    ASSERT_TRUE(consumer.ok()) << consumer.status();
    consumer_ = consumer->release();
    consumer_thread_ = new std::thread([] { (void)consumer_->Run(); });
  }

  static void TearDownTestSuite() {
    if (consumer_ != nullptr) consumer_->Stop();
    if (consumer_thread_ != nullptr) consumer_thread_->join();
    delete consumer_thread_;
    delete consumer_;
    delete queue_;
    delete policies_;
    delete presence_;
    delete store_;
    delete tokens_;
    delete ids_;
    delete clock_;
    if (producer_ != nullptr) (void)producer_->Flush(absl::Seconds(5));
    delete producer_;
    delete kafka_;
    delete redis_;
    delete redis_server_;
    delete pool_;
    delete postgres_;
  }

  static ticket::v1::Ticket NewTicket(const std::string& tenant, common::v1::Priority priority,
                                      const std::string& language = "sv") {
    ticket::v1::Ticket t;
    t.set_ticket_id(ids_->NewId());
    t.set_tenant_id(tenant);
    t.set_subject("Printer prints blank pages");
    t.set_language(language);
    t.set_priority(priority);
    t.add_required_skills("printers");
    t.set_status(ticket::v1::TICKET_STATUS_NEW);
    t.set_version(1);
    return t;
  }

  // Publishes `payload` as an event of ticket `t` at `t.version()`; returns the event.
  static events::v1::Event Publish(const std::string& topic, const ticket::v1::Ticket& t,
                                   const google::protobuf::Message& payload) {
    events::v1::Event event = EventOf(topic, t, payload);
    Republish(topic, event);
    return event;
  }

  // `payload` as an event of ticket `t` at `t.version()`.
  static events::v1::Event EventOf(const std::string& topic, const ticket::v1::Ticket& t,
                                   const google::protobuf::Message& payload) {
    auto event =
        kafka::NewEvent(*ids_, *clock_,
                        {.source = topic == kSlaEventsTopic ? "sundesk/sla" : "sundesk/ticket",
                         .tenant_id = t.tenant_id(),
                         .subject = t.ticket_id(),
                         .sequence = t.version()},
                        payload);
    EXPECT_TRUE(event.ok()) << event.status();
    return *event;
  }

  static void Republish(const std::string& topic, const events::v1::Event& event) {
    EXPECT_TRUE(kafka::ProduceEvent(*producer_, topic, event, nullptr).ok());
    EXPECT_TRUE(producer_->Flush(absl::Seconds(10)).ok());
  }

  static events::v1::Event Created(const ticket::v1::Ticket& t) {
    events::v1::TicketCreated created;
    *created.mutable_ticket() = t;
    return Publish(kTicketEventsTopic, t, created);
  }

  static std::vector<std::string> QueuedIds(const QueueFilter& filter = {},
                                            std::optional<std::vector<std::string>> tenants = {}) {
    std::vector<std::string> ids;
    std::string token;
    for (int page = 0; page < 100; ++page) {
      auto listed = queue_->List("test", filter, tenants, 2, token);
      EXPECT_TRUE(listed.ok()) << listed.status();
      if (!listed.ok()) break;
      for (const auto& v : listed->tickets) ids.push_back(v.entry.ticket.ticket_id);
      if (listed->next_page_token.empty()) break;
      token = listed->next_page_token;
    }
    return ids;
  }

  static bool Queued(const std::string& ticket_id, const QueueFilter& filter = {}) {
    auto ids = QueuedIds(filter);
    return std::find(ids.begin(), ids.end(), ticket_id) != ids.end();
  }

  static inline testing::PostgresServer* postgres_ = nullptr;
  static inline pg::Pool* pool_ = nullptr;
  static inline testing::RedisServer* redis_server_ = nullptr;
  static inline redis::Pool* redis_ = nullptr;
  static inline testing::DevKafka* kafka_ = nullptr;
  static inline kafka::Producer* producer_ = nullptr;
  static inline SystemClock* clock_ = nullptr;
  static inline UuidV7Generator* ids_ = nullptr;
  static inline api::PageTokenSigner* tokens_ = nullptr;
  static inline PgQueueStore* store_ = nullptr;
  static inline RedisPresenceStore* presence_ = nullptr;
  static inline PgRoutingPolicyStore* policies_ = nullptr;
  static inline TicketQueue* queue_ = nullptr;
  static inline kafka::Consumer* consumer_ = nullptr;
  static inline std::thread* consumer_thread_ = nullptr;
};

TEST_F(QueueTest, CreatedTicketsQueueAndLeaveWhenAssignedSolvedOrClosed) {
  ticket::v1::Ticket a = NewTicket(kTenant, common::v1::PRIORITY_NORMAL);
  ticket::v1::Ticket b = NewTicket(kTenant, common::v1::PRIORITY_NORMAL);
  Created(a);
  Created(b);
  ASSERT_TRUE(testing::WaitFor([&] { return Queued(a.ticket_id()) && Queued(b.ticket_id()); },
                               absl::Seconds(30)));

  // Assigned: a leaves the queue; the agent's claim stays until the ticket is solved.
  ASSERT_EQ(*presence_->Claim("agent-ana", a.ticket_id(), 3, absl::Now()), ClaimOutcome::kClaimed);
  a.set_version(2);
  events::v1::TicketAssigned assigned;
  assigned.set_agent_id("agent-ana");
  Publish(kTicketEventsTopic, a, assigned);
  ASSERT_TRUE(testing::WaitFor([&] { return !Queued(a.ticket_id()); }, absl::Seconds(30)));
  EXPECT_EQ(presence_->Get("agent-ana")->active_tickets, 1);

  // Solved: the agent's load drops.
  a.set_version(3);
  a.set_assignee_id("agent-ana");
  a.set_status(ticket::v1::TICKET_STATUS_SOLVED);
  events::v1::TicketStatusChanged solved;
  solved.set_from_status(ticket::v1::TICKET_STATUS_OPEN);
  solved.set_to_status(ticket::v1::TICKET_STATUS_SOLVED);
  *solved.mutable_ticket() = a;
  Publish(kTicketEventsTopic, a, solved);
  ASSERT_TRUE(testing::WaitFor([&] { return presence_->Get("agent-ana")->active_tickets == 0; },
                               absl::Seconds(30)));
  EXPECT_FALSE(Queued(a.ticket_id()));

  // Reopened, still assigned: stays with its agent. Unassigned: queued again.
  a.set_version(4);
  a.set_status(ticket::v1::TICKET_STATUS_OPEN);
  solved.set_from_status(ticket::v1::TICKET_STATUS_SOLVED);
  solved.set_to_status(ticket::v1::TICKET_STATUS_OPEN);
  *solved.mutable_ticket() = a;
  Publish(kTicketEventsTopic, a, solved);
  a.set_version(5);
  events::v1::TicketUnassigned unassigned;
  unassigned.set_previous_agent_id("agent-ana");
  Publish(kTicketEventsTopic, a, unassigned);
  ASSERT_TRUE(testing::WaitFor([&] { return Queued(a.ticket_id()); }, absl::Seconds(30)));

  // Closed: gone for good.
  b.set_version(2);
  b.set_status(ticket::v1::TICKET_STATUS_CLOSED);
  events::v1::TicketStatusChanged closed;
  closed.set_to_status(ticket::v1::TICKET_STATUS_CLOSED);
  *closed.mutable_ticket() = b;
  Publish(kTicketEventsTopic, b, closed);
  ASSERT_TRUE(testing::WaitFor([&] { return !Queued(b.ticket_id()); }, absl::Seconds(30)));
}

TEST_F(QueueTest, RedeliveredAndOutOfDateEventsChangeNothing) {
  ticket::v1::Ticket t = NewTicket(kTenant, common::v1::PRIORITY_LOW, "fi");
  events::v1::Event created = Created(t);
  t.set_version(2);
  t.set_priority(common::v1::PRIORITY_URGENT);
  events::v1::TicketUpdated updated;
  updated.add_changed_fields("priority");
  *updated.mutable_ticket() = t;
  Publish(kTicketEventsTopic, t, updated);
  auto priority_of = [&]() -> int {
    auto page = queue_->List("test", {.tenant_id = "", .language = "fi"}, std::nullopt, 500, "");
    if (!page.ok()) return -1;
    for (const auto& v : page->tickets) {
      if (v.entry.ticket.ticket_id == t.ticket_id()) return v.entry.ticket.priority;
    }
    return 0;
  };
  ASSERT_TRUE(testing::WaitFor([&] { return priority_of() == common::v1::PRIORITY_URGENT; },
                               absl::Seconds(30)));
  // The creation again (version 1), then a newer change of the same ticket as a marker:
  // same key, same partition, so once the marker is applied the redelivery was too.
  Republish(kTicketEventsTopic, created);
  t.set_version(3);
  t.set_subject("marker");
  events::v1::TicketUpdated marker;
  marker.add_changed_fields("subject");
  *marker.mutable_ticket() = t;
  Publish(kTicketEventsTopic, t, marker);  // same key: applied after the redelivery
  ASSERT_TRUE(testing::WaitFor(
      [&] {
        auto page =
            queue_->List("test", {.tenant_id = "", .language = "fi"}, std::nullopt, 500, "");
        if (!page.ok()) return false;
        for (const auto& v : page->tickets) {
          if (v.entry.ticket.ticket_id == t.ticket_id()) return v.entry.ticket.subject == "marker";
        }
        return false;
      },
      absl::Seconds(30)));
  EXPECT_EQ(priority_of(), common::v1::PRIORITY_URGENT);  // the old creation did not win
}

// A consumer batch in one transaction: each ticket's facts in order, by version, as one at a
// time would apply them; the same batch delivered again changes nothing.
TEST_F(QueueTest, ABatchAppliesItsEventsInOrderAndItsRedeliveryChangesNothing) {
  auto message = [](const std::string& topic, const ticket::v1::Ticket& t,
                    const google::protobuf::Message& payload) {
    kafka::EventRecord record = kafka::ToRecord(topic, EventOf(topic, t, payload));
    return kafka::Message{.topic = std::string(topic),
                          .key = record.key,
                          .value = record.value,
                          .headers = record.headers};
  };
  const std::string lang = "mt";  // a language only this test uses
  std::vector<kafka::Message> batch;
  // x: created, its priority raised, an SLA warning, assigned, unassigned again.
  ticket::v1::Ticket x = NewTicket(kTenant, common::v1::PRIORITY_LOW, lang);
  events::v1::TicketCreated created;
  *created.mutable_ticket() = x;
  batch.push_back(message(kTicketEventsTopic, x, created));
  const kafka::Message x_created = batch.back();
  x.set_version(2);
  x.set_priority(common::v1::PRIORITY_HIGH);
  events::v1::TicketUpdated updated;
  updated.add_changed_fields("priority");
  *updated.mutable_ticket() = x;
  batch.push_back(message(kTicketEventsTopic, x, updated));
  const absl::Time deadline = absl::FromUnixSeconds(absl::ToUnixSeconds(absl::Now()) + 600);
  events::v1::SlaWarning warning;
  warning.mutable_deadline()->set_seconds(absl::ToUnixSeconds(deadline));
  batch.push_back(message(kSlaEventsTopic, x, warning));
  x.set_version(3);
  events::v1::TicketAssigned assigned;
  assigned.set_agent_id("agent-batch");
  batch.push_back(message(kTicketEventsTopic, x, assigned));
  x.set_version(4);
  events::v1::TicketUnassigned unassigned;
  unassigned.set_previous_agent_id("agent-batch");
  batch.push_back(message(kTicketEventsTopic, x, unassigned));
  batch.push_back(x_created);  // a redelivery inside the batch: older, ignored
  // y: created and closed in the same batch; z: only an SLA warning (its creation not seen).
  ticket::v1::Ticket y = NewTicket(kTenant, common::v1::PRIORITY_URGENT, lang);
  *created.mutable_ticket() = y;
  batch.push_back(message(kTicketEventsTopic, y, created));
  y.set_version(2);
  y.set_status(ticket::v1::TICKET_STATUS_CLOSED);
  events::v1::TicketStatusChanged closed;
  closed.set_to_status(ticket::v1::TICKET_STATUS_CLOSED);
  *closed.mutable_ticket() = y;
  batch.push_back(message(kTicketEventsTopic, y, closed));
  ticket::v1::Ticket z = NewTicket(kTenant, common::v1::PRIORITY_NORMAL, lang);
  batch.push_back(message(kSlaEventsTopic, z, warning));

  auto state = [&]() -> std::string {
    auto page = queue_->List("test", {.tenant_id = "", .language = lang}, std::nullopt, 500, "");
    if (!page.ok()) return page.status().ToString();
    std::string out;
    for (const auto& v : page->tickets) {
      const TicketCopy& c = v.entry.ticket;
      absl::StrAppend(&out, c.ticket_id == x.ticket_id() ? "x" : c.ticket_id, " p", c.priority,
                      " v", c.version, " a'", c.assignee_id, "' sla ",
                      v.entry.sla_deadline ? absl::ToUnixSeconds(*v.entry.sla_deadline) : 0, ";");
    }
    return out;
  };
  auto queued_events = [&](const std::string& ticket_id) -> std::string {
    auto conn = pool_->Acquire();
    EXPECT_TRUE(conn.ok());
    auto r = (*conn)->Execute(
        "SELECT string_agg(event_id, ',' ORDER BY id) AS ids, count(*) AS n FROM routing.outbox "
        "WHERE key = $1 AND event_type LIKE '%TicketQueued'",
        {ticket_id});
    EXPECT_TRUE(r.ok()) << r.status();
    return absl::StrCat(*r->Int64(0, "n"));
  };

  ASSERT_TRUE(ApplyQueueEvents(*queue_, batch).ok());
  const std::string expected = absl::StrCat("x p", common::v1::PRIORITY_HIGH, " v4 a'' sla ",
                                            absl::ToUnixSeconds(deadline), ";");
  EXPECT_EQ(state(), expected);  // y closed, z unknown: neither queued
  // Queued at creation (v1), again by the priority change (v2) and the unassignment (v4).
  EXPECT_EQ(queued_events(x.ticket_id()), "3");
  EXPECT_EQ(queued_events(y.ticket_id()), "1");
  EXPECT_EQ(presence_->Get("agent-batch")->active_tickets, 0);  // assigned, then not

  ASSERT_TRUE(ApplyQueueEvents(*queue_, batch).ok());  // redelivered whole
  EXPECT_EQ(state(), expected);
  EXPECT_EQ(queued_events(x.ticket_id()), "3");
  EXPECT_EQ(queued_events(y.ticket_id()), "1");
  // z's creation arrives later: it is queued with the deadline it was warned of.
  z.set_version(1);
  *created.mutable_ticket() = z;
  ASSERT_TRUE(ApplyQueueEvents(*queue_, {message(kTicketEventsTopic, z, created)}).ok());
  EXPECT_EQ(state(), absl::StrCat(expected, z.ticket_id(), " p", common::v1::PRIORITY_NORMAL,
                                  " v1 a'' sla ", absl::ToUnixSeconds(deadline), ";"));
}

TEST_F(QueueTest, OrderIsSlaDeadlineThenPriorityThenWait) {
  const std::string lang = "is";  // a language only this test uses
  ticket::v1::Ticket low_old = NewTicket(kTenant, common::v1::PRIORITY_LOW, lang);
  ticket::v1::Ticket high = NewTicket(kTenant, common::v1::PRIORITY_HIGH, lang);
  ticket::v1::Ticket low_new = NewTicket(kTenant, common::v1::PRIORITY_LOW, lang);
  ticket::v1::Ticket at_risk = NewTicket(kOtherTenant, common::v1::PRIORITY_LOW, lang);
  for (const auto* t : {&low_old, &high, &low_new, &at_risk}) {
    Created(*t);
    absl::SleepFor(absl::Milliseconds(5));  // distinct event times: distinct queued times
  }
  const QueueFilter filter{.tenant_id = "", .language = lang};
  ASSERT_TRUE(testing::WaitFor([&] { return QueuedIds(filter).size() == 4; }, absl::Seconds(30)));
  EXPECT_THAT(QueuedIds(filter), ElementsAre(high.ticket_id(), low_old.ticket_id(),
                                             low_new.ticket_id(), at_risk.ticket_id()));

  // An SLA warning moves the ticket ahead of everything without one.
  events::v1::SlaWarning warning;
  warning.mutable_deadline()->set_seconds(absl::ToUnixSeconds(absl::Now() + absl::Minutes(10)));
  Publish(kSlaEventsTopic, at_risk, warning);
  ASSERT_TRUE(testing::WaitFor([&] { return QueuedIds(filter).front() == at_risk.ticket_id(); },
                               absl::Seconds(30)));
  EXPECT_THAT(QueuedIds(filter), ElementsAre(at_risk.ticket_id(), high.ticket_id(),
                                             low_old.ticket_id(), low_new.ticket_id()));
  // A later deadline for the same ticket does not push it back.
  warning.mutable_deadline()->set_seconds(absl::ToUnixSeconds(absl::Now() + absl::Hours(10)));
  ASSERT_TRUE(
      queue_->OnSlaAtRisk(at_risk.ticket_id(), absl::FromUnixSeconds(warning.deadline().seconds()))
          .ok());
  auto page = queue_->List("test", filter, std::nullopt, 1, "");
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->tickets.size(), 1u);
  EXPECT_LT(*page->tickets[0].entry.sla_deadline, absl::Now() + absl::Hours(1));

  // Scope: a caller limited to one tenant sees only its tickets; a filter for a tenant
  // outside the scope sees nothing.
  EXPECT_THAT(QueuedIds(filter, std::vector<std::string>{kOtherTenant}),
              ElementsAre(at_risk.ticket_id()));
  EXPECT_TRUE(
      QueuedIds({.tenant_id = kTenant, .language = lang}, std::vector<std::string>{kOtherTenant})
          .empty());
}

TEST_F(QueueTest, ListValidatesAndBindsTokensToTheQuery) {
  auto bad = queue_->List("test", {.tenant_id = "", .language = "not a tag"}, std::nullopt, 0, "");
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.status().message(), ::testing::HasSubstr("filter.language"));
  bad = queue_->List("test", {}, std::nullopt, -1, "");
  EXPECT_THAT(bad.status().message(), ::testing::HasSubstr("page_size"));
  bad = queue_->List("test", {}, std::nullopt, 1, "garbage");
  EXPECT_THAT(bad.status().message(), ::testing::HasSubstr("page_token"));
}

TEST_F(QueueTest, TheQueueSurvivesANewProcess) {
  ticket::v1::Ticket t = NewTicket(kTenant, common::v1::PRIORITY_NORMAL, "et");
  Created(t);
  ASSERT_TRUE(testing::WaitFor([&] { return Queued(t.ticket_id()); }, absl::Seconds(30)));
  // A fresh pool, store and queue, as a restarted routing would build them.
  auto pool = pg::Pool::Create({.dsn = pool_->options().dsn});
  ASSERT_TRUE(pool.ok());
  PgQueueStore store(**pool, *clock_, *ids_);
  TicketQueue restarted(store, *presence_, *policies_, *clock_, *tokens_);
  auto page = restarted.List("test", {.tenant_id = "", .language = "et"}, std::nullopt, 10, "");
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_EQ(page->tickets.size(), 1u);
  EXPECT_EQ(page->tickets[0].entry.ticket.ticket_id, t.ticket_id());
  EXPECT_THAT(page->tickets[0].entry.ticket.required_skills, ElementsAre("printers"));
  EXPECT_GE(page->tickets[0].wait_time, absl::ZeroDuration());
  EXPECT_EQ(page->tickets[0].stage, 0);
}

TEST_F(QueueTest, QueueDepthGaugePerLanguage) {
  prometheus::Registry registry;
  QueueMetrics metrics(registry);
  auto depth = [&](const std::string& language) {
    EXPECT_TRUE(metrics.Refresh(*queue_).ok());
    for (const auto& family : registry.Collect()) {
      if (family.name != "sundesk_routing_queue_depth") continue;
      for (const auto& m : family.metric) {
        for (const auto& l : m.label) {
          if (l.name == "language" && l.value == language) return m.gauge.value;
        }
      }
    }
    return -1.0;
  };
  ticket::v1::Ticket a = NewTicket(kTenant, common::v1::PRIORITY_NORMAL, "LV");
  ticket::v1::Ticket b = NewTicket(kTenant, common::v1::PRIORITY_NORMAL, "lv");
  Created(a);
  Created(b);
  ASSERT_TRUE(testing::WaitFor([&] { return depth("lv") == 2; }, absl::Seconds(30)));
  a.set_version(2);
  events::v1::TicketAssigned assigned;
  assigned.set_agent_id("agent-lv");
  Publish(kTicketEventsTopic, a, assigned);
  EXPECT_TRUE(testing::WaitFor([&] { return depth("lv") == 1; }, absl::Seconds(30)));
  b.set_version(2);
  Publish(kTicketEventsTopic, b, assigned);
  EXPECT_TRUE(testing::WaitFor([&] { return depth("lv") == 0; }, absl::Seconds(30)));
}

}  // namespace
}  // namespace sundesk::routing
