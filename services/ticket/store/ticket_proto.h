#pragma once
// The proto forms of the domain's tickets, comments, history entries and events: what the
// outbox carries (sundesk.events.v1.Event) and what the gRPC handlers answer. One place for
// both, so an event's ticket and an RPC's ticket never differ.

#include "absl/status/statusor.h"
#include "services/ticket/domain/ticket.h"
#include "sundesk/events/v1/events.pb.h"
#include "sundesk/ticket/v1/resources.pb.h"

namespace sundesk::ticket {

inline constexpr char kTicketEventSource[] = "sundesk/ticket";
inline constexpr char kTicketEventTopic[] = "sundesk.ticket.events.v1";

v1::Ticket TicketToProto(const Ticket& ticket);
// The updatable fields (and ids) of a proto ticket, for UpdateTicket.
Ticket TicketFromProto(const v1::Ticket& proto);
v1::Comment CommentToProto(const Comment& comment);
v1::HistoryEntry HistoryToProto(const HistoryEntry& entry);
// The event of a committed write: envelope (sequence = the ticket's version) and payload.
events::v1::Event EventToProto(const TicketWrite& write);

}  // namespace sundesk::ticket
