#pragma once

#include "libs/core/clock.h"
#include "libs/core/ids.h"
#include "libs/kafka/outbox_notifier.h"
#include "libs/pg/pool.h"
#include "services/routing/domain/offers.h"

namespace sundesk::routing {

// Offers in PostgreSQL (routing.offers), each change committed with its event in routing's
// transactional outbox (sundesk.routing.events.v1): OfferMade, OfferAccepted, OfferRejected,
// OfferExpired, with event ids derived from the offer so a retried transaction repeats the
// same id. A ticket is held across replicas by locking its routing.tickets row (SKIP
// LOCKED: a replica that finds it held moves on). Thread-safe.
class PgOfferStore final : public OfferStore {
 public:
  PgOfferStore(pg::Pool& pool, const Clock& clock, IdGenerator& ids)
      : pool_(pool), clock_(clock), ids_(ids) {}

  absl::StatusOr<std::vector<QueueEntry>> Routable(const std::optional<QueuePosition>& after,
                                                   int limit) override;
  absl::StatusOr<bool> Route(absl::string_view ticket_id, Decide decide) override;
  absl::StatusOr<Offer> Get(absl::string_view offer_id) override;
  absl::StatusOr<std::optional<Offer>> Update(absl::string_view offer_id, absl::Time at,
                                              bool skip_locked, Answer answer) override;
  absl::StatusOr<std::vector<DueOffer>> Due(absl::Time now, int limit) override;
  absl::StatusOr<std::vector<Offer>> OpenOffers(int limit) override;
  absl::StatusOr<std::vector<Offer>> AgentOffers(
      absl::string_view agent_id, const std::vector<std::string>& offer_ids) override;
  absl::StatusOr<std::vector<Holding>> Holdings() override;

  // Wakes routing's outbox relay after each commit that wrote events (optional; without
  // it the relay finds them by polling, up to a second later).
  void set_outbox_notifier(kafka::OutboxNotifier* notifier) { notifier_ = notifier; }

 private:
  pg::Pool& pool_;
  const Clock& clock_;
  IdGenerator& ids_;
  kafka::OutboxNotifier* notifier_ = nullptr;
};

}  // namespace sundesk::routing
