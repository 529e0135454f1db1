#pragma once
// The ticket service's domain: who may do what to which ticket, the state machine,
// validation, idempotency and the events and history each change produces. Plain C++:
// storage, clock and ids are injected.
//
// Access: CLIENT keys act on their own tenant only (the tenant comes from the key; another
// tenant's ticket is NOT_FOUND exactly like a missing one); AGENT keys on tickets assigned
// to their agent; ADMIN and SERVICE keys on every tenant. Only ADMIN and SERVICE assign.
// CLIENT keys neither read nor write internal comments.

#include <memory>
#include <optional>
#include <string>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "libs/api/page_token.h"
#include "libs/core/clock.h"
#include "libs/core/ids.h"
#include "services/ticket/domain/ticket.h"
#include "services/ticket/domain/ticket_rules.h"
#include "services/ticket/domain/ticket_store.h"

namespace sundesk::ticket {

struct TicketServiceOptions {
  TicketLimits limits = {};
  absl::Duration idempotency_window = absl::Hours(24);
};

// PERMISSION_DENIED unless the caller's role is one of `allowed`.
absl::Status CheckCallerRole(const Caller& caller, std::initializer_list<CallerRole> allowed,
                             absl::string_view action);
// Whether `caller` may see `ticket` at all (if not: NOT_FOUND, as for a missing one).
bool CanSeeTicket(const Caller& caller, const Ticket& ticket);
// The tenant a create acts for: the key's own for CLIENT (the request may only repeat it);
// required in the request for the other roles.
absl::StatusOr<std::string> ResolveCreateTenant(const Caller& caller, const std::string& requested);
absl::Status TicketNotFound(absl::string_view ticket_id);

class TicketService {
 public:
  // `page_tokens` signs list page tokens (the service's one signer, keyed by configuration
  // shared by every replica). `observer` may be null.
  TicketService(TicketStore& store, const Clock& clock, IdGenerator& ids,
                const api::PageTokenSigner& page_tokens, TicketServiceOptions options = {},
                TicketObserver* observer = nullptr);

  absl::StatusOr<Ticket> CreateTicket(const Caller& caller, const CreateTicketInput& in);
  // As CreateTicket, but returns once the create is checked and handed to the store;
  // `done` gets the outcome, once, on the caller's thread or a thread of the store's
  // (TicketStore::CreateTicketAsync). Keep `done` short.
  using TicketDone = absl::AnyInvocable<void(absl::StatusOr<Ticket>) &&>;
  void CreateTicketAsync(const Caller& caller, const CreateTicketInput& in, TicketDone done);
  absl::StatusOr<Ticket> GetTicket(const Caller& caller, const std::string& ticket_id);
  absl::StatusOr<ListTicketsOutput> ListTickets(const Caller& caller, const ListTicketsInput& in);
  absl::StatusOr<Ticket> UpdateTicket(const Caller& caller, const UpdateTicketInput& in);
  absl::StatusOr<Ticket> TransitionTicket(const Caller& caller, const TransitionInput& in);
  absl::StatusOr<Ticket> AssignTicket(const Caller& caller, const AssignInput& in);
  absl::StatusOr<Ticket> UnassignTicket(const Caller& caller, const UnassignInput& in);
  absl::StatusOr<Comment> AddComment(const Caller& caller, const AddCommentInput& in);
  absl::StatusOr<ListCommentsOutput> ListComments(const Caller& caller,
                                                  const ListCommentsInput& in);
  absl::StatusOr<HistoryOutput> GetTicketHistory(const Caller& caller, const HistoryInput& in);

 private:
  // The current time at PostgreSQL's precision (microseconds), so a ticket read back equals
  // the one returned.
  absl::Time Now() const;
  // Runs `apply` on the locked ticket if `caller` can see it and `etag` matches; `apply`
  // edits the ticket and the write's history/event and returns whether anything changed.
  using Apply = absl::FunctionRef<absl::StatusOr<bool>(Ticket&, TicketWrite&)>;
  absl::StatusOr<Ticket> Change(const Caller& caller, const std::string& ticket_id,
                                const std::string& etag, Apply apply);
  // A create checked and built, ready for the store.
  struct PreparedCreate {
    TicketWrite write;
    std::optional<IdempotencyRecord> record;
    std::string request_id;
    std::string fingerprint;
    absl::Time now;
  };
  absl::StatusOr<PreparedCreate> PrepareCreate(const Caller& caller, const CreateTicketInput& in);
  // The create's answer once the store has `stored` it (or replayed an earlier one).
  absl::StatusOr<Ticket> CreateOutcome(const std::string& request_id,
                                       const std::string& fingerprint,
                                       absl::StatusOr<StoredTicket> stored);
  // The ticket if the caller may see it, else NOT_FOUND.
  absl::StatusOr<Ticket> VisibleTicket(const Caller& caller, const std::string& ticket_id);
  void StartWrite(const Caller& caller, const Ticket& ticket, absl::string_view type,
                  TicketWrite& write);

  TicketStore& store_;
  const Clock& clock_;
  IdGenerator& ids_;
  const TicketServiceOptions options_;
  TicketObserver* observer_;
  TicketObserver no_observer_;
  const api::PageTokenSigner& tokens_;
};

}  // namespace sundesk::ticket
