#pragma once

#include "libs/core/clock.h"
#include "libs/core/ids.h"
#include "libs/kafka/outbox_notifier.h"
#include "libs/pg/pool.h"
#include "services/routing/domain/presence.h"

namespace sundesk::routing {

// AgentPresenceChanged into routing's outbox (sundesk.routing.events.v1, subject the agent
// id, no tenant). Presence itself lives in Redis: when PostgreSQL is down the change stands
// and only its event is lost (logged). Thread-safe.
class PgPresenceEvents final : public PresenceObserver {
 public:
  PgPresenceEvents(pg::Pool& pool, const Clock& clock, IdGenerator& ids)
      : pool_(pool), clock_(clock), ids_(ids) {}

  void PresenceChanged(const std::string& agent_id, PresenceStatus from,
                       PresenceStatus to) override;

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
