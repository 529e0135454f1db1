#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "google/protobuf/message.h"
#include "libs/core/clock.h"
#include "libs/core/ids.h"
#include "libs/kafka/envelope.h"
#include "libs/pg/connection.h"
#include "services/routing/domain/offers.h"
#include "sundesk/events/v1/events.pb.h"
#include "sundesk/routing/v1/resources.pb.h"

// What routing publishes to sundesk.routing.events.v1, and the Offer message it carries.
namespace sundesk::routing {

inline constexpr absl::string_view kRoutingEventsTopic = "sundesk.routing.events.v1";
inline constexpr absl::string_view kRoutingSource = "sundesk/routing";
inline constexpr absl::string_view kRoutingSchema = "routing";

void OfferToProto(const Offer& offer, v1::Offer* out);

// Adds a routing event around `payload` to routing's outbox inside the caller's transaction.
// `dedupe_name` non-empty: the event id is NameBasedUuid(dedupe_name) (libs/core/ids.h), so
// the same fact gets the same id whichever replica writes it and however often a retry
// repeats it, and consumers that dedupe by event id see it once; else a new id. It sends no
// NOTIFY: the caller wakes the relay after its commit (kafka::OutboxNotifier), or the relay
// finds the row at its next poll.
absl::Status WriteRoutingEvent(pg::Connection& tx, IdGenerator& ids, const Clock& clock,
                               const kafka::EventAttributes& attributes,
                               const google::protobuf::Message& payload,
                               absl::string_view dedupe_name);

// The same event's outbox row as a statement, for writing several in one round trip
// (pg::Connection::ExecuteAtomically inside the caller's transaction).
absl::StatusOr<pg::Statement> RoutingEventStatement(IdGenerator& ids, const Clock& clock,
                                                    const kafka::EventAttributes& attributes,
                                                    const google::protobuf::Message& payload,
                                                    absl::string_view dedupe_name);

}  // namespace sundesk::routing
