#include "libs/kafka/envelope.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "google/protobuf/util/message_differencer.h"

namespace sundesk::kafka {
namespace {

using events::v1::Event;
using ::testing::HasSubstr;

class SequentialIds final : public IdGenerator {
 public:
  std::string NewId() override { return absl::StrCat("0190f3a0-0000-7000-8000-00000000000", n_++); }

 private:
  int n_ = 0;
};

class EnvelopeTest : public ::testing::Test {
 protected:
  Event TicketCreated() {
    events::v1::TicketCreated payload;
    payload.mutable_ticket()->set_ticket_id("tk-1");
    payload.mutable_ticket()->set_subject("Printer on fire");
    auto e = NewEvent(
        ids_, clock_,
        {.source = "sundesk/ticket", .tenant_id = "acme", .subject = "tk-1", .sequence = 3},
        payload);
    EXPECT_TRUE(e.ok()) << e.status();
    return *e;
  }

  SequentialIds ids_;
  // 2026-01-01T00:00:00.25Z
  FakeClock clock_{absl::FromUnixSeconds(1'767'225'600) + absl::Milliseconds(250)};
};

TEST_F(EnvelopeTest, NewEventFillsTheEnvelopeFromPayloadIdsAndClock) {
  Event e = TicketCreated();
  EXPECT_EQ(e.event_id(), "0190f3a0-0000-7000-8000-000000000000");
  EXPECT_EQ(e.type(), "TicketCreated");
  EXPECT_EQ(e.source(), "sundesk/ticket");
  EXPECT_EQ(e.tenant_id(), "acme");
  EXPECT_EQ(e.subject(), "tk-1");
  EXPECT_EQ(e.sequence(), 3);
  EXPECT_EQ(e.time().seconds(), 1'767'225'600);
  EXPECT_EQ(e.time().nanos(), 250'000'000);
  ASSERT_EQ(e.payload_case(), Event::kTicketCreated);
  EXPECT_EQ(e.ticket_created().ticket().subject(), "Printer on fire");
}

TEST_F(EnvelopeTest, NewEventWithRealUuidV7) {
  UuidV7Generator ids(clock_, /*seed=*/1);
  events::v1::SlaBreached payload;
  auto e = NewEvent(ids, clock_, {.source = "sundesk/sla", .tenant_id = "acme", .subject = "tk-9"},
                    payload);
  ASSERT_TRUE(e.ok());
  EXPECT_TRUE(IsUuid(e->event_id()));
  EXPECT_EQ(UuidV7Millis(e->event_id()), absl::ToUnixMillis(clock_.Now()));
  EXPECT_EQ(e->type(), "SlaBreached");
}

TEST_F(EnvelopeTest, NewEventRejectsNonPayloadsAndMissingAttributes) {
  google::protobuf::Timestamp not_a_payload;
  auto e = NewEvent(ids_, clock_, {.source = "sundesk/ticket", .tenant_id = "", .subject = "tk-1"},
                    not_a_payload);
  EXPECT_EQ(e.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(e.status().message(), HasSubstr("google.protobuf.Timestamp"));
  events::v1::TicketCreated payload;
  EXPECT_FALSE(
      NewEvent(ids_, clock_, {.source = "", .tenant_id = "", .subject = "tk-1"}, payload).ok());
  EXPECT_FALSE(
      NewEvent(ids_, clock_, {.source = "sundesk/ticket", .tenant_id = "", .subject = ""}, payload)
          .ok());
}

TEST_F(EnvelopeTest, HeadersFollowTheCloudEventsKafkaBinding) {
  Headers h = EventHeaders(TicketCreated());
  EXPECT_EQ(FindHeader(h, "ce_specversion"), "1.0");
  EXPECT_EQ(FindHeader(h, "ce_id"), "0190f3a0-0000-7000-8000-000000000000");
  EXPECT_EQ(FindHeader(h, "ce_type"), "TicketCreated");
  EXPECT_EQ(FindHeader(h, "ce_source"), "sundesk/ticket");
  EXPECT_EQ(FindHeader(h, "ce_subject"), "tk-1");
  EXPECT_EQ(FindHeader(h, "ce_time"), "2026-01-01T00:00:00.25Z");
  EXPECT_EQ(FindHeader(h, "ce_tenantid"), "acme");
  EXPECT_EQ(FindHeader(h, "ce_sequence"), "3");
  EXPECT_EQ(FindHeader(h, "content-type"), "application/x-protobuf");
}

TEST_F(EnvelopeTest, HeadersParseBack) {
  Event e = TicketCreated();
  auto ce = ParseEventHeaders(EventHeaders(e));
  ASSERT_TRUE(ce.ok()) << ce.status();
  EXPECT_EQ(ce->id, e.event_id());
  EXPECT_EQ(ce->type, "TicketCreated");
  EXPECT_EQ(ce->source, "sundesk/ticket");
  EXPECT_EQ(ce->subject, "tk-1");
  EXPECT_EQ(ce->tenant_id, "acme");
  EXPECT_EQ(ce->time, clock_.Now());
}

TEST_F(EnvelopeTest, HeaderParsingRejectsIncompleteOrForeignHeaders) {
  Headers good = EventHeaders(TicketCreated());
  auto without = [&](absl::string_view key) {
    Headers h;
    for (const auto& x : good) {
      if (x.key != key) h.push_back(x);
    }
    return h;
  };
  for (const char* key : {"ce_specversion", "ce_id", "ce_type", "ce_source"}) {
    EXPECT_EQ(ParseEventHeaders(without(key)).status().code(), absl::StatusCode::kInvalidArgument)
        << key;
  }
  Headers bad_time = without("ce_time");
  bad_time.push_back({"ce_time", "yesterday"});
  EXPECT_THAT(ParseEventHeaders(bad_time).status().message(), HasSubstr("ce_time"));
  Headers old_spec = without("ce_specversion");
  old_spec.push_back({"ce_specversion", "0.3"});
  EXPECT_FALSE(ParseEventHeaders(old_spec).ok());
}

TEST_F(EnvelopeTest, RecordRoundTripsThroughAMessage) {
  Event e = TicketCreated();
  EventRecord r = ToRecord("sundesk.ticket.events.v1", e);
  EXPECT_EQ(r.topic, "sundesk.ticket.events.v1");
  EXPECT_EQ(r.key, "tk-1");
  Message m;
  m.topic = r.topic;
  m.key = r.key;
  m.value = r.value;
  m.headers = r.headers;
  auto parsed = ParseEvent(m);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(*parsed, e));
}

TEST_F(EnvelopeTest, ParseEventRejectsWhatIsNotAnEvent) {
  EventRecord r = ToRecord("t", TicketCreated());
  Message m;
  m.value = r.value;
  m.headers = r.headers;

  Message garbage = m;
  garbage.value = "\xff\xff\xff";
  EXPECT_EQ(ParseEvent(garbage).status().code(), absl::StatusCode::kInvalidArgument);

  Message json = m;
  json.headers = {{"content-type", "application/json"}};
  EXPECT_THAT(ParseEvent(json).status().message(), HasSubstr("content-type"));

  Message contradicting = m;
  contradicting.headers = {{"ce_id", "someone-else"}};
  EXPECT_THAT(ParseEvent(contradicting).status().message(), HasSubstr("contradicts"));

  Message empty;
  EXPECT_FALSE(ParseEvent(empty).ok());  // no event_id
}

TEST(FormatRfc3339Test, UtcWithFractionOnlyWhenNeeded) {
  absl::Time t = absl::FromUnixSeconds(1'767'225'600);
  EXPECT_EQ(FormatRfc3339(t), "2026-01-01T00:00:00Z");
  EXPECT_EQ(FormatRfc3339(t + absl::Microseconds(1500)), "2026-01-01T00:00:00.0015Z");
}

}  // namespace
}  // namespace sundesk::kafka
