#pragma once
// TicketStore on PostgreSQL (schema `ticket`, migration 0003): every TicketWrite — ticket
// row, history row, comment, and its event in the outbox — commits in one transaction, with
// the ticket row locked first so that one ticket's outbox rows are in version order. The
// writes of one change go in one round trip (pg::Connection::ExecuteAtomically).

#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "libs/core/worker_pool.h"
#include "libs/kafka/outbox_notifier.h"
#include "libs/pg/group_commit.h"
#include "libs/pg/pool.h"
#include "services/ticket/domain/ticket_store.h"

namespace sundesk::ticket {

class PgTicketStore final : public TicketStore {
 public:
  // `notifier` (optional) wakes the outbox relay after each commit; without it the relay
  // finds new events by polling. With `blocking_work` (optional; must outlive the store),
  // CreateTicketAsync returns at once: the create's rows wait for the store's group-commit
  // writer threads, and the rare create that finds its request_id taken continues on
  // `blocking_work`. Without it, CreateTicketAsync commits on the caller's thread.
  explicit PgTicketStore(pg::Pool& pool, kafka::OutboxNotifier* notifier = nullptr,
                         WorkerPool* blocking_work = nullptr)
      : pool_(pool),
        notifier_(notifier),
        blocking_work_(blocking_work),
        creates_(pool, {.writer_threads = blocking_work != nullptr}) {}

  // How long a tenant's default language is remembered (tenants change rarely; a change
  // applies to tickets created after this long).
  static constexpr absl::Duration kTenantCacheTtl = absl::Seconds(1);

  absl::StatusOr<std::string> TenantDefaultLanguage(const std::string& tenant_id) override;
  absl::StatusOr<StoredTicket> CreateTicket(const TicketWrite& created,
                                            const std::optional<IdempotencyRecord>& idempotency,
                                            absl::Time now) override;
  void CreateTicketAsync(TicketWrite created, std::optional<IdempotencyRecord> idempotency,
                         absl::Time now, CreateDone done) override;
  absl::StatusOr<std::optional<Ticket>> GetTicket(const std::string& ticket_id) override;
  absl::StatusOr<Ticket> ChangeTicket(const std::string& ticket_id, Change change) override;
  absl::StatusOr<StoredComment> AddComment(const std::string& ticket_id,
                                           const std::optional<IdempotencyRecord>& idempotency,
                                           absl::Time now, Change change) override;
  absl::StatusOr<std::vector<Ticket>> ListTickets(const TicketQuery& query) override;
  absl::StatusOr<std::vector<Comment>> ListComments(const std::string& ticket_id, bool public_only,
                                                    int64_t after_version, int limit) override;
  absl::StatusOr<std::vector<HistoryEntry>> ListHistory(const std::string& ticket_id,
                                                        bool include_internal,
                                                        int64_t after_version, int limit) override;

  // Deletes up to `batch` idempotency records that expired at or before `now`; returns how
  // many it deleted (call again while it returns `batch`).
  absl::StatusOr<int64_t> PurgeExpiredIdempotencyRecords(absl::Time now, int batch);

 private:
  struct CachedLanguage {
    std::string language;
    absl::Time fetched;
  };

  // The record, ticket, history and event rows of a create, as one unit.
  static std::vector<pg::Statement> CreateStatements(
      const TicketWrite& created, const std::optional<IdempotencyRecord>& idempotency);
  // After the unit failed on `status`: OK if it committed; otherwise, when another record
  // of the same request_id was in the way, the create in a transaction of its own (replay
  // of a live record, or replacement of an expired one); otherwise the error.
  absl::StatusOr<StoredTicket> FinishCreate(absl::Status status, const TicketWrite& created,
                                            const std::optional<IdempotencyRecord>& idempotency,
                                            absl::Time now);
  // Whether a failed unit needs FinishCreate's transaction.
  static bool RequestIdTaken(const absl::Status& status,
                             const std::optional<IdempotencyRecord>& idempotency);

  void Committed() {
    if (notifier_ != nullptr) notifier_->Notify();
  }

  pg::Pool& pool_;
  kafka::OutboxNotifier* notifier_;
  WorkerPool* blocking_work_;
  // New tickets' rows commit in groups: concurrent creates share one transaction.
  pg::GroupCommitter creates_;
  absl::Mutex cache_mu_;
  absl::flat_hash_map<std::string, CachedLanguage> default_languages_ ABSL_GUARDED_BY(cache_mu_);
};

}  // namespace sundesk::ticket
