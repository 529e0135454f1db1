#pragma once
// The rules of tickets: field limits (TicketLimits), checked with the shared primitives of
// validation.h,, the status state machine, and the
// names and JSON forms used in history entries. Every validation failure is
// INVALID_ARGUMENT whose message starts with the field path ("tags[3]: ...").

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "services/ticket/domain/ticket.h"

namespace sundesk::ticket {

// Defaults of API.md; configurable.
struct TicketLimits {
  int subject_max_chars = 500;
  int description_max_bytes = 64 * 1024;
  int comment_max_bytes = 64 * 1024;
  int max_tags = 32;
  int tag_max_chars = 64;
  int max_custom_fields = 64;
  int custom_field_key_max_chars = 64;
  int custom_field_value_max_bytes = 4 * 1024;
  int max_required_skills = 32;
  int skill_max_chars = 64;
  int category_max_chars = 200;
  int requester_text_max_chars = 200;
  int email_max_chars = 254;
  int request_id_max_chars = 128;
  int reason_max_chars = 500;
  int id_max_chars = 128;  // agent ids, offer ids
};

absl::Status ValidateCreateTicket(const CreateTicketInput& in, const TicketLimits& limits);
// Validates the fields of `values` named in `paths` (which must all be updatable).
absl::Status ValidateUpdate(const UpdateTicketInput& in, const TicketLimits& limits);
absl::Status ValidateComment(const AddCommentInput& in, const TicketLimits& limits);
absl::Status ValidateTransition(const TransitionInput& in, const TicketLimits& limits);
absl::Status ValidateAssign(const AssignInput& in, const TicketLimits& limits);
absl::Status ValidateUnassign(const UnassignInput& in, const TicketLimits& limits);
absl::Status ValidateFilter(const TicketFilter& filter);

// The fields UpdateTicket may change.
const std::vector<std::string>& UpdatableTicketFields();

// The state machine: NEW → OPEN → PENDING ⇄ OPEN → ON_HOLD ⇄ OPEN → SOLVED → CLOSED,
// SOLVED → OPEN; CLOSED is final.
bool IsLegalTransition(TicketStatus from, TicketStatus to);
// OK, or FAILED_PRECONDITION naming both states.
absl::Status CheckTransition(TicketStatus from, TicketStatus to);

// Proto enum value names: "TICKET_STATUS_OPEN", "PRIORITY_HIGH", "CHANNEL_API".
std::string StatusName(TicketStatus status);
std::string PriorityName(Priority priority);
std::string ChannelName(Channel channel);
bool IsKnownStatus(TicketStatus status);
bool IsKnownPriority(Priority priority);
bool IsKnownChannel(Channel channel);

// JSON text of a string, a list of strings, a string map, a time (RFC 3339).
std::string JsonQuote(absl::string_view s);
std::string JsonStringList(const std::vector<std::string>& values);
std::string JsonStringMap(const std::map<std::string, std::string>& values);
std::string JsonTime(const std::optional<absl::Time>& t);

}  // namespace sundesk::ticket
