#include "services/routing/store/routing_events.h"

#include "absl/strings/str_cat.h"
#include "libs/core/ids.h"
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

absl::StatusOr<pg::Statement> RoutingEventStatement(IdGenerator& ids, const Clock& clock,
                                                    const kafka::EventAttributes& attributes,
                                                    const google::protobuf::Message& payload,
                                                    absl::string_view dedupe_name) {
  SUNDESK_ASSIGN_OR_RETURN(events::v1::Event event,
                           kafka::NewEvent(ids, clock, attributes, payload));
  if (!dedupe_name.empty()) event.set_event_id(NameBasedUuid(dedupe_name));
  return kafka::OutboxEventStatement(kRoutingSchema, kRoutingEventsTopic, event);
}

absl::Status WriteRoutingEvent(pg::Connection& tx, IdGenerator& ids, const Clock& clock,
                               const kafka::EventAttributes& attributes,
                               const google::protobuf::Message& payload,
                               absl::string_view dedupe_name) {
  // A row committed on its own would announce a change that may never happen.
  if (!tx.in_transaction()) {
    return absl::FailedPreconditionError("routing events are written inside a transaction");
  }
  // Without a NOTIFY in the transaction: PostgreSQL serializes the commits of transactions
  // that NOTIFY, which made the route workers' and the queue consumer's commits wait for each
  // other. Every writer wakes the relay after its commit (OutboxNotifier) instead.
  SUNDESK_ASSIGN_OR_RETURN(pg::Statement insert,
                           RoutingEventStatement(ids, clock, attributes, payload, dedupe_name));
  return tx.Execute(insert.sql, insert.params).status();
}

}  // namespace sundesk::routing
