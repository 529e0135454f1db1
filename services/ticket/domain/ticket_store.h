#pragma once
// What the ticket domain needs from storage. The PostgreSQL implementation
// (store/pg_ticket_store.h) commits each TicketWrite — ticket row, history entry, comment
// and the event in the outbox — in one transaction; unit tests use an in-memory fake.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/ticket/domain/ticket.h"

namespace sundesk::ticket {

// An idempotency record: `request_id` was served, for a request whose body hashes to
// `fingerprint`, and is remembered until `expire_time`.
struct IdempotencyRecord {
  std::string request_id;
  std::string fingerprint;
  absl::Time expire_time = absl::InfinitePast();
};

struct StoredTicket {
  Ticket ticket;
  bool replayed = false;    // an earlier request with the same request_id made it
  std::string fingerprint;  // of that earlier request, when replayed
};

struct StoredComment {
  Comment comment;
  bool replayed = false;
  std::string fingerprint;
};

struct TicketQuery {
  TicketFilter filter;  // tenant_id and assignee_id already narrowed to the caller's scope
  TicketOrder order = TicketOrder::kCreateTime;
  bool descending = true;
  int limit = 50;
  // Keyset cursor: rows strictly after (key, ticket_id) in the order. The key is the sort
  // column: Unix microseconds for times, the number for priority.
  std::optional<std::pair<int64_t, std::string>> after;
};

class TicketStore {
 public:
  virtual ~TicketStore() = default;

  // The tenant's default language; NOT_FOUND when there is no such tenant.
  virtual absl::StatusOr<std::string> TenantDefaultLanguage(const std::string& tenant_id) = 0;

  // Commits `created` (a TicketCreated write) and, when set, `idempotency` for
  // (tenant, request_id) — atomically. When a live record for that key exists, or one is
  // committed concurrently, commits nothing and returns the ticket it names, replayed.
  // Expired records are replaced.
  virtual absl::StatusOr<StoredTicket> CreateTicket(
      const TicketWrite& created, const std::optional<IdempotencyRecord>& idempotency,
      absl::Time now) = 0;

  // As CreateTicket, but may return before the outcome is known; `done` gets it, once, on
  // a thread of the store's (keep it short: it may hold up other creates). This default
  // commits on the caller's thread.
  using CreateDone = absl::AnyInvocable<void(absl::StatusOr<StoredTicket>) &&>;
  virtual void CreateTicketAsync(TicketWrite created, std::optional<IdempotencyRecord> idempotency,
                                 absl::Time now, CreateDone done) {
    std::move(done)(CreateTicket(created, idempotency, now));
  }

  // The ticket, or nullopt.
  virtual absl::StatusOr<std::optional<Ticket>> GetTicket(const std::string& ticket_id) = 0;

  // Locks the ticket and calls `change` with it; commits the write it returns (nullopt:
  // nothing changes). May call `change` more than once (transaction retries): it must
  // only compute. NOT_FOUND when the ticket does not exist. Returns the ticket after.
  using Change = absl::FunctionRef<absl::StatusOr<std::optional<TicketWrite>>(const Ticket&)>;
  virtual absl::StatusOr<Ticket> ChangeTicket(const std::string& ticket_id, Change change) = 0;

  // As ChangeTicket for a CommentAdded write; with `idempotency`, a live record for
  // (ticket, request_id) found after `change` succeeded returns that comment, replayed.
  virtual absl::StatusOr<StoredComment> AddComment(
      const std::string& ticket_id, const std::optional<IdempotencyRecord>& idempotency,
      absl::Time now, Change change) = 0;

  virtual absl::StatusOr<std::vector<Ticket>> ListTickets(const TicketQuery& query) = 0;
  // Comments of a ticket in version order, after `after_version`.
  virtual absl::StatusOr<std::vector<Comment>> ListComments(const std::string& ticket_id,
                                                            bool public_only, int64_t after_version,
                                                            int limit) = 0;
  // History entries in version order, after `after_version`.
  virtual absl::StatusOr<std::vector<HistoryEntry>> ListHistory(const std::string& ticket_id,
                                                                bool include_internal,
                                                                int64_t after_version,
                                                                int limit) = 0;
};

// Observes what the domain committed, for metrics (implemented in api/).
class TicketObserver {
 public:
  virtual ~TicketObserver() = default;
  virtual void TicketCreated(Channel channel, Priority priority) {}
  virtual void StatusChanged(TicketStatus from, TicketStatus to) {}
  virtual void IdempotentReplay() {}
};

}  // namespace sundesk::ticket
