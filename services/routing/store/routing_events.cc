#include "services/routing/store/routing_events.h"

#include <openssl/sha.h>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "libs/core/status.h"
#include "libs/kafka/outbox.h"

namespace sundesk::routing {
namespace {

void SetTime(absl::Time t, google::protobuf::Timestamp* out) {
  const int64_t seconds = absl::ToUnixSeconds(t);
  out->set_seconds(seconds);
  out->set_nanos(static_cast<int32_t>((t - absl::FromUnixSeconds(seconds)) / absl::Nanoseconds(1)));
}

}  // namespace

void OfferToProto(const Offer& o, v1::Offer* out) {
  out->set_offer_id(o.offer_id);
  out->set_ticket_id(o.ticket_id);
  out->set_tenant_id(o.tenant_id);
  out->set_subject(o.subject);
  out->set_language(o.language);
  out->set_priority(static_cast<common::v1::Priority>(o.priority));
  out->set_guidelines(o.guidelines);
  out->set_stage(o.stage);
  SetTime(o.expire_time, out->mutable_expire_time());
  out->set_agent_id(o.agent_id);
  if (o.sla_deadline) SetTime(*o.sla_deadline, out->mutable_sla_deadline());
}

std::string DeterministicEventId(absl::string_view name) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(name.data()), name.size(), digest);
  digest[6] = static_cast<unsigned char>((digest[6] & 0x0F) | 0x80);  // version 8
  digest[8] = static_cast<unsigned char>((digest[8] & 0x3F) | 0x80);  // RFC 9562 variant
  const std::string hex =
      absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(digest), 16));
  return absl::StrCat(hex.substr(0, 8), "-", hex.substr(8, 4), "-", hex.substr(12, 4), "-",
                      hex.substr(16, 4), "-", hex.substr(20, 12));
}

absl::Status WriteRoutingEvent(pg::Connection& tx, IdGenerator& ids, const Clock& clock,
                               const kafka::EventAttributes& attributes,
                               const google::protobuf::Message& payload,
                               absl::string_view dedupe_name) {
  SUNDESK_ASSIGN_OR_RETURN(events::v1::Event event,
                           kafka::NewEvent(ids, clock, attributes, payload));
  if (!dedupe_name.empty()) event.set_event_id(DeterministicEventId(dedupe_name));
  return kafka::InsertOutboxEvent(tx, kRoutingSchema, kRoutingEventsTopic, event);
}

}  // namespace sundesk::routing
