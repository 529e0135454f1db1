#pragma once
// The sla service's model: plain structs. Enum values carry the numbers of their
// sundesk.sla.v1 / sundesk.ticket.v1 / sundesk.common.v1 twins, so the api layer and the
// store convert with a cast.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "libs/calendar/business_calendar.h"
#include "sundesk/sla/v1/resources.pb.h"

namespace sundesk::sla {

enum class Metric {
  kUnspecified = 0,
  kFirstResponse = 1,
  kNextResponse = 2,
  kPeriodicUpdate = 3,
  kResolution = 4
};
enum class ClockState { kUnspecified = 0, kRunning = 1, kPaused = 2, kMet = 3, kBreached = 4 };
enum class TicketStatus {
  kUnspecified = 0,
  kNew = 1,
  kOpen = 2,
  kPending = 3,
  kOnHold = 4,
  kSolved = 5,
  kClosed = 6
};
enum class Priority { kUnspecified = 0, kLow = 1, kNormal = 2, kHigh = 3, kUrgent = 4 };
enum class Channel { kUnspecified = 0, kEmail = 1, kWeb = 2, kPhone = 3, kChat = 4, kApi = 5 };
enum class AuthorKind { kUnspecified = 0, kAgent = 1, kCustomer = 2 };

// A tenant's SLA targets for the tickets it matches. A zero target is not measured.
struct Policy {
  std::string policy_id;
  std::string tenant_id;
  std::string display_name;
  Priority priority = Priority::kUnspecified;  // match; unspecified matches any
  Channel channel = Channel::kUnspecified;     // match; unspecified matches any
  std::string tag;                             // match; empty matches any
  absl::Duration first_response = absl::ZeroDuration();
  absl::Duration next_response = absl::ZeroDuration();
  absl::Duration periodic_update = absl::ZeroDuration();
  absl::Duration resolution = absl::ZeroDuration();
  std::string calendar_id;
  int warn_at_percent = 0;  // 1–99; 0: no warning
  int64_t version = 0;      // 1 on create, +1 per update; the etag is derived from it
  absl::Time create_time = absl::UnixEpoch();
  absl::Time update_time = absl::UnixEpoch();

  absl::Duration Target(Metric metric) const;
};

// What sla knows of a ticket: the fields policies match on, and its status.
struct TicketFacts {
  std::string ticket_id;
  std::string tenant_id;
  Priority priority = Priority::kUnspecified;
  Channel channel = Channel::kUnspecified;
  std::vector<std::string> tags;
  TicketStatus status = TicketStatus::kUnspecified;
  std::string assignee_id;  // empty: unassigned
  friend bool operator==(const TicketFacts&, const TicketFacts&) = default;
};

// A sundesk.ticket.events.v1 event as the clocks need it.
struct TicketEvent {
  enum class Kind {
    kOther,
    kCreated,
    kUpdated,
    kStatusChanged,
    kCommentAdded,
    kAssigned  // TicketAssigned and TicketUnassigned: `ticket.assignee_id` is the new one
  };
  Kind kind = Kind::kOther;
  std::string event_id;
  int64_t sequence = 0;  // the ticket's version after the change
  absl::Time time;       // when the change was committed
  // The ticket after the change (kCreated, kUpdated, kStatusChanged).
  TicketFacts ticket;
  // kCommentAdded.
  AuthorKind author_kind = AuthorKind::kUnspecified;
  bool is_public = false;
};

// The current cycle of one measured target of a ticket.
struct SlaClock {
  Metric metric = Metric::kUnspecified;
  absl::Duration target = absl::ZeroDuration();
  int cycle = 1;
  absl::Time start_time;
  std::optional<absl::Time> stop_time;  // set once stopped (met, breached and stopped, canceled)
  // Open time counted up to `counted_until`; while counting, more accrues from there on.
  absl::Duration elapsed = absl::ZeroDuration();
  absl::Time counted_until;
  bool counting = false;
  bool warned = false;
  bool breached = false;
  bool met = false;
  bool canceled = false;
  // While counting: the instant the target is (or was, once breached) missed, and the
  // instant of the warning (absl::InfiniteFuture() once warned or without a warning).
  absl::Time deadline = absl::InfiniteFuture();
  absl::Time warn_time = absl::InfiniteFuture();

  bool stopped() const { return stop_time.has_value(); }
  ClockState state() const;
  friend bool operator==(const SlaClock&, const SlaClock&) = default;
};

// The ledger's entries are the public proto itself: clients verify the hash chain over its
// deterministic serialization (sundesk.sla.v1.LedgerEntry), so that is its canonical form.
using LedgerEntry = ::sundesk::sla::v1::LedgerEntry;
using LedgerAction = ::sundesk::sla::v1::LedgerAction;

// A settings change that re-plans the running clocks of the tickets it concerns.
struct Replan {
  int64_t replan_id = 0;  // replans apply in this order
  // A calendar change: the tickets on `calendar_id`; `old_calendar` was in force before
  // `change_time`, the calendar's current version after.
  std::string calendar_id;
  std::shared_ptr<const calendar::BusinessCalendar> old_calendar;
  // A policy change: the tickets under `policy_id` take its current targets, calendar and
  // warn_at_percent from `change_time` on.
  std::string policy_id;
  // Set when the change was to the policy's match fields (priority, channel, tag): every
  // ticket of this tenant is matched again from `change_time` on.
  std::string tenant_id;
  int64_t version = 0;  // the calendar's or policy's version after the change
  absl::Time change_time;
};

// Everything sla keeps about one ticket.
struct TicketSla {
  TicketFacts ticket;
  bool created = false;  // TicketCreated applied
  int64_t last_sequence = 0;
  absl::Time create_time;
  std::string policy_id;  // empty: no policy matched, no clocks
  std::string calendar_id;
  int warn_at_percent = 0;
  bool agent_replied = false;    // a public agent comment was applied
  std::vector<SlaClock> clocks;  // at most one per metric: its current cycle
  std::vector<LedgerEntry> ledger;
  // The last replan applied, and (loaded with the state, not stored) those still to apply,
  // oldest first.
  int64_t replanned_through = 0;
  std::vector<Replan> pending_replans;

  SlaClock* Find(Metric metric);
  const SlaClock* Find(Metric metric) const;
};

// An sla event to publish (sundesk.sla.events.v1).
struct SlaSignal {
  enum class Kind { kClockStarted, kWarning, kBreached, kMet };
  Kind kind = Kind::kClockStarted;
  // Deterministic: the same fact always gets the same id, whichever replica computes it and
  // however often, so consumers de-duplicate repeats.
  std::string event_id;
  std::string ticket_id;
  std::string tenant_id;
  int64_t sequence = 0;  // the latest ticket version applied
  absl::Time time;       // when the fact happened (a timer's due instant, not when it fired)
  Metric metric = Metric::kUnspecified;
  absl::Duration target = absl::ZeroDuration();
  std::optional<absl::Time> deadline;
  absl::Duration elapsed = absl::ZeroDuration();
  absl::Duration remaining = absl::ZeroDuration();
  int percent = 0;  // kWarning: the warn_at_percent reached
  int cycle = 1;
  std::string policy_id;
  std::string calendar_id;
};

// A clock as GetTicketSla shows it at some instant.
struct ClockView {
  Metric metric = Metric::kUnspecified;
  absl::Duration target = absl::ZeroDuration();
  absl::Duration elapsed = absl::ZeroDuration();
  absl::Duration remaining = absl::ZeroDuration();
  std::optional<absl::Time> deadline;  // unset unless counting
  ClockState state = ClockState::kUnspecified;
  absl::Time start_time;
  std::optional<absl::Time> stop_time;
  int cycle = 1;
};

}  // namespace sundesk::sla
