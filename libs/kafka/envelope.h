#pragma once

// The event envelope (sundesk.events.v1.Event) and its Kafka form: value = the serialized
// Event, key = the subject (ticket id), and the CloudEvents Kafka protocol binding's
// binary-mode headers, so any Kafka tool can filter without decoding:
//
//   ce_specversion  1.0                      ce_id       event_id (UUIDv7)
//   ce_type         "TicketCreated"          ce_source   "sundesk/ticket"
//   ce_time         RFC 3339 UTC             ce_subject  ticket id
//   ce_tenantid     tenant (when set)        ce_sequence ticket version (decimal)
//   content-type    application/x-protobuf

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "google/protobuf/message.h"
#include "libs/core/clock.h"
#include "libs/core/ids.h"
#include "libs/kafka/consumer.h"
#include "libs/kafka/headers.h"
#include "libs/kafka/producer.h"
#include "sundesk/events/v1/events.pb.h"

namespace sundesk::kafka {

inline constexpr absl::string_view kEventContentType = "application/x-protobuf";
inline constexpr absl::string_view kCloudEventsSpecVersion = "1.0";

// What the producing service knows of an event; id and time come from the injected
// IdGenerator and Clock.
struct EventAttributes {
  std::string source;     // "sundesk/ticket", "sundesk/routing", "sundesk/sla"
  std::string tenant_id;  // empty only for AgentPresenceChanged
  std::string subject;    // the ticket id (the agent id for AgentPresenceChanged)
  int64_t sequence = 0;   // the ticket's version after the change
};

// An Event around `payload`, which must be one of Event's payload messages
// (TicketCreated, SlaWarning, ...); `type` is the payload's message name. INVALID_ARGUMENT
// for any other message or a missing source or subject.
absl::StatusOr<events::v1::Event> NewEvent(IdGenerator& ids, const Clock& clock,
                                           const EventAttributes& attributes,
                                           const google::protobuf::Message& payload);

// The CloudEvents headers of `event` (table above).
Headers EventHeaders(const events::v1::Event& event);

// The CloudEvents attributes read from headers alone, without decoding the value.
struct CloudEventHeaders {
  std::string id;
  std::string type;
  std::string source;
  std::string subject;
  std::string tenant_id;
  absl::Time time = absl::InfinitePast();
};

// INVALID_ARGUMENT when ce_specversion is not 1.0 or ce_id, ce_type or ce_source is
// missing, or ce_time is not RFC 3339.
absl::StatusOr<CloudEventHeaders> ParseEventHeaders(const Headers& headers);

// The Event in a consumed message. INVALID_ARGUMENT when the value is not a serialized
// Event, the content type is another, or the headers contradict the value (a message a
// handler should dead-letter, not retry).
absl::StatusOr<events::v1::Event> ParseEvent(const Message& message);

// A Kafka record ready to produce or to put in an outbox.
struct EventRecord {
  std::string topic;
  std::string key;    // the event's subject
  std::string value;  // the serialized Event
  Headers headers;
};

EventRecord ToRecord(absl::string_view topic, const events::v1::Event& event);

// Produces `event` to `topic`, keyed by its subject (see Producer::Produce).
absl::Status ProduceEvent(Producer& producer, absl::string_view topic,
                          const events::v1::Event& event, DeliveryCallback on_delivery);

// RFC 3339 in UTC with the fraction of a second as needed: "2026-01-01T09:30:00.25Z".
std::string FormatRfc3339(absl::Time t);

}  // namespace sundesk::kafka
