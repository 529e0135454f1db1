#include "libs/kafka/envelope.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/descriptor.h"

namespace sundesk::kafka {
namespace {

using events::v1::Event;

constexpr absl::string_view kId = "ce_id";
constexpr absl::string_view kType = "ce_type";
constexpr absl::string_view kSource = "ce_source";
constexpr absl::string_view kTime = "ce_time";
constexpr absl::string_view kSubject = "ce_subject";
constexpr absl::string_view kSpecVersion = "ce_specversion";
constexpr absl::string_view kTenantId = "ce_tenantid";
constexpr absl::string_view kSequence = "ce_sequence";
constexpr absl::string_view kContentType = "content-type";

absl::Time FromTimestamp(const google::protobuf::Timestamp& ts) {
  return absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
}

void ToTimestamp(absl::Time t, google::protobuf::Timestamp* ts) {
  int64_t seconds = absl::ToUnixSeconds(t);  // rounds toward negative infinity
  ts->set_seconds(seconds);
  ts->set_nanos(static_cast<int32_t>((t - absl::FromUnixSeconds(seconds)) / absl::Nanoseconds(1)));
}

}  // namespace

std::string FormatRfc3339(absl::Time t) {
  return absl::FormatTime("%Y-%m-%d%ET%H:%M:%E*SZ", t, absl::UTCTimeZone());
}

absl::StatusOr<Event> NewEvent(IdGenerator& ids, const Clock& clock,
                               const EventAttributes& attributes,
                               const google::protobuf::Message& payload) {
  if (attributes.source.empty()) return absl::InvalidArgumentError("event source is empty");
  if (attributes.subject.empty()) return absl::InvalidArgumentError("event subject is empty");
  Event event;
  const google::protobuf::OneofDescriptor* oneof = Event::descriptor()->FindOneofByName("payload");
  const google::protobuf::FieldDescriptor* field = nullptr;
  for (int i = 0; i < oneof->field_count(); ++i) {
    if (oneof->field(i)->message_type() == payload.GetDescriptor()) field = oneof->field(i);
  }
  if (field == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat(payload.GetDescriptor()->full_name(), " is not an event payload"));
  }
  event.GetReflection()->MutableMessage(&event, field)->CopyFrom(payload);
  event.set_event_id(ids.NewId());
  event.set_type(payload.GetDescriptor()->name());
  event.set_source(attributes.source);
  event.set_tenant_id(attributes.tenant_id);
  event.set_subject(attributes.subject);
  event.set_sequence(attributes.sequence);
  ToTimestamp(clock.Now(), event.mutable_time());
  return event;
}

Headers EventHeaders(const Event& event) {
  Headers h = {
      {std::string(kSpecVersion), std::string(kCloudEventsSpecVersion)},
      {std::string(kId), event.event_id()},
      {std::string(kType), event.type()},
      {std::string(kSource), event.source()},
      {std::string(kSubject), event.subject()},
      {std::string(kTime), FormatRfc3339(FromTimestamp(event.time()))},
      {std::string(kContentType), std::string(kEventContentType)},
  };
  if (!event.tenant_id().empty()) h.push_back({std::string(kTenantId), event.tenant_id()});
  h.push_back({std::string(kSequence), absl::StrCat(event.sequence())});
  return h;
}

absl::StatusOr<CloudEventHeaders> ParseEventHeaders(const Headers& headers) {
  auto spec = FindHeader(headers, kSpecVersion);
  if (spec != kCloudEventsSpecVersion) {
    return absl::InvalidArgumentError(
        absl::StrCat("ce_specversion must be 1.0, got '", spec.value_or("(none)"), "'"));
  }
  CloudEventHeaders out;
  for (auto [name, target] :
       {std::pair{kId, &out.id}, {kType, &out.type}, {kSource, &out.source}}) {
    auto v = FindHeader(headers, name);
    if (!v.has_value() || v->empty()) {
      return absl::InvalidArgumentError(absl::StrCat("header ", name, " is missing"));
    }
    *target = std::string(*v);
  }
  out.subject = std::string(FindHeader(headers, kSubject).value_or(""));
  out.tenant_id = std::string(FindHeader(headers, kTenantId).value_or(""));
  if (auto t = FindHeader(headers, kTime); t.has_value()) {
    std::string err;
    if (!absl::ParseTime(absl::RFC3339_full, *t, &out.time, &err)) {
      return absl::InvalidArgumentError(absl::StrCat("ce_time '", *t, "': ", err));
    }
  }
  return out;
}

absl::StatusOr<Event> ParseEvent(const Message& message) {
  if (auto ct = FindHeader(message.headers, kContentType);
      ct.has_value() && *ct != kEventContentType) {
    return absl::InvalidArgumentError(
        absl::StrCat("content-type is '", *ct, "', not ", kEventContentType));
  }
  Event event;
  if (!event.ParseFromString(message.value)) {
    return absl::InvalidArgumentError(absl::StrCat("value at ", message.topic, "[",
                                                   message.partition, "]@", message.offset,
                                                   " is not a sundesk.events.v1.Event"));
  }
  if (event.event_id().empty()) return absl::InvalidArgumentError("event has no event_id");
  if (auto id = FindHeader(message.headers, kId); id.has_value() && *id != event.event_id()) {
    return absl::InvalidArgumentError(
        absl::StrCat("ce_id '", *id, "' contradicts event_id '", event.event_id(), "'"));
  }
  return event;
}

EventRecord ToRecord(absl::string_view topic, const Event& event) {
  return {std::string(topic), event.subject(), event.SerializeAsString(), EventHeaders(event)};
}

absl::Status ProduceEvent(Producer& producer, absl::string_view topic, const Event& event,
                          DeliveryCallback on_delivery) {
  EventRecord r = ToRecord(topic, event);
  return producer.Produce(r.topic, r.key, r.value, r.headers, std::move(on_delivery));
}

}  // namespace sundesk::kafka
