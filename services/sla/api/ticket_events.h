#pragma once

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "libs/kafka/consumer.h"
#include "services/sla/domain/sla_model.h"
#include "services/sla/domain/ticket_clocks.h"
#include "sundesk/events/v1/events.pb.h"

namespace sundesk::sla {

// A sundesk.ticket.events.v1 event as the clocks see it (payloads they do not use are kOther).
TicketEvent FromEvent(const events::v1::Event& event);

// The consumer's handler: decodes a record and applies it. A record that is not a ticket
// event is logged and skipped (retrying cannot fix it); an error applying one is returned,
// so the consumer retries it.
absl::Status HandleTicketEventRecord(TicketClocks& clocks, const kafka::Message& message);

// The same for a batch of records, applied in one transaction (TicketClocks::ApplyBatch);
// with `shards` > 1, split by ticket into that many parts applied at once, each in its own
// transaction on its own thread (a ticket's events stay in one part, in their order; the
// parts lock disjoint tickets). OK once every part committed; otherwise the first error (the
// consumer retries the whole batch, and the parts that committed change nothing again).
absl::Status HandleTicketEventRecords(TicketClocks& clocks,
                                      absl::Span<const kafka::Message> messages, int shards = 1);

}  // namespace sundesk::sla
