#pragma once
// The ticket model of the ticket service's domain: plain structs, no proto messages. Enum
// values carry the numbers of their sundesk.ticket.v1 / sundesk.common.v1 twins, so the
// api layer and the store convert with a cast.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "libs/core/caller.h"

namespace sundesk::ticket {

enum class TicketStatus {
  kUnspecified = 0,
  kNew = 1,
  kOpen = 2,
  kPending = 3,
  kOnHold = 4,
  kSolved = 5,
  kClosed = 6,
};

enum class Priority { kUnspecified = 0, kLow = 1, kNormal = 2, kHigh = 3, kUrgent = 4 };

enum class Channel { kUnspecified = 0, kEmail = 1, kWeb = 2, kPhone = 3, kChat = 4, kApi = 5 };

enum class AuthorKind { kUnspecified = 0, kAgent = 1, kCustomer = 2 };

// Who calls (the api layer maps rpc::Principal onto it with rpc::ToCaller).
using ::sundesk::Caller;
using ::sundesk::CallerRole;

struct Requester {
  std::string external_id;
  std::string name;
  std::string email;
  std::string language;
  std::string time_zone;
};

struct Ticket {
  std::string ticket_id;
  std::string tenant_id;
  std::string subject;
  std::string description;
  Requester requester;
  Channel channel = Channel::kUnspecified;
  Priority priority = Priority::kUnspecified;
  std::string language;
  std::string category;
  std::vector<std::string> required_skills;
  std::vector<std::string> tags;
  std::map<std::string, std::string> custom_fields;
  TicketStatus status = TicketStatus::kUnspecified;
  std::string assignee_id;  // empty: unassigned
  int64_t version = 0;      // 1 on create, +1 with every change (= the event's sequence)
  absl::Time create_time = absl::InfinitePast();
  absl::Time update_time = absl::InfinitePast();
  std::optional<absl::Time> first_response_time;
  std::optional<absl::Time> solve_time;
};

// The opaque etag of a ticket at `version`.
std::string TicketEtag(int64_t version);

struct Comment {
  std::string comment_id;
  std::string ticket_id;
  std::string tenant_id;
  std::string body;
  bool is_public = false;
  AuthorKind author_kind = AuthorKind::kUnspecified;
  std::string author_id;
  absl::Time create_time = absl::InfinitePast();
  int64_t version = 0;  // the ticket's version the comment produced (orders comments)
};

// One changed field; values are JSON text (the proto JSON mapping of the field), "null"
// when unset.
struct FieldChange {
  std::string field;
  std::string old_value = "null";
  std::string new_value = "null";
};

struct HistoryEntry {
  std::string ticket_id;
  int64_t version = 0;
  absl::Time time = absl::InfinitePast();
  Caller actor;
  std::string action;  // the event type: "TicketCreated", "CommentAdded", ...
  std::vector<FieldChange> changes;
  std::string comment_id;
  std::string event_id;
  bool internal = false;  // an internal comment's entry: hidden from CLIENT keys
};

// The event a change produces; the store turns it into a sundesk.events.v1.Event in the
// same transaction as the change. Which fields are meaningful depends on `type`.
struct TicketEvent {
  std::string event_id;
  std::string type;  // TicketCreated, TicketUpdated, TicketStatusChanged, TicketAssigned,
                     // TicketUnassigned, CommentAdded
  absl::Time time = absl::InfinitePast();
  Caller actor;
  std::vector<std::string> changed_fields;                // TicketUpdated
  TicketStatus from_status = TicketStatus::kUnspecified;  // TicketStatusChanged
  TicketStatus to_status = TicketStatus::kUnspecified;
  std::string reason;             // TicketStatusChanged, TicketUnassigned
  std::string agent_id;           // TicketAssigned
  std::string previous_agent_id;  // TicketAssigned, TicketUnassigned
  int32_t routing_stage = 0;      // TicketAssigned
  std::string offer_id;           // TicketAssigned
  bool first_response = false;    // CommentAdded (the comment itself is in TicketWrite)
};

// One committed change of a ticket: its state after, its audit entry and its event.
struct TicketWrite {
  Ticket ticket;
  HistoryEntry history;
  TicketEvent event;
  std::optional<Comment> comment;  // CommentAdded
};

// --- requests, as plain structs ---

struct CreateTicketInput {
  std::string request_id;
  std::string tenant_id;
  std::string subject;
  std::string description;
  Requester requester;
  Channel channel = Channel::kUnspecified;
  Priority priority = Priority::kUnspecified;
  std::string language;
  std::string category;
  std::vector<std::string> required_skills;
  std::vector<std::string> tags;
  std::map<std::string, std::string> custom_fields;
};

struct UpdateTicketInput {
  std::string ticket_id;
  Ticket values;                   // the new values of the fields in `paths`
  std::vector<std::string> paths;  // update_mask
  std::string etag;
};

struct TransitionInput {
  std::string ticket_id;
  TicketStatus to_status = TicketStatus::kUnspecified;
  std::string etag;
  std::string reason;
};

struct AssignInput {
  std::string ticket_id;
  std::string agent_id;
  std::string etag;
  std::string offer_id;
  int32_t routing_stage = 0;
};

struct UnassignInput {
  std::string ticket_id;
  std::string etag;
  std::string reason;
};

struct AddCommentInput {
  std::string ticket_id;
  std::string request_id;
  std::string body;
  bool is_public = false;
};

enum class TicketOrder { kCreateTime, kUpdateTime, kPriority };

struct TicketFilter {
  TicketStatus status = TicketStatus::kUnspecified;
  Priority priority = Priority::kUnspecified;
  std::string assignee_id;
  std::string language;
  std::string tag;
  std::optional<absl::Time> created_after;
  std::optional<absl::Time> created_before;
  std::string tenant_id;
  bool unassigned = false;
};

struct ListTicketsInput {
  int32_t page_size = 0;
  std::string page_token;
  TicketFilter filter;
  std::string order_by;
};

struct ListTicketsOutput {
  std::vector<Ticket> tickets;
  std::string next_page_token;
};

struct ListCommentsInput {
  std::string ticket_id;
  int32_t page_size = 0;
  std::string page_token;
  bool public_only = false;
};

struct ListCommentsOutput {
  std::vector<Comment> comments;
  std::string next_page_token;
};

struct HistoryInput {
  std::string ticket_id;
  int32_t page_size = 0;
  std::string page_token;
};

struct HistoryOutput {
  std::vector<HistoryEntry> entries;
  std::string next_page_token;
};

}  // namespace sundesk::ticket
