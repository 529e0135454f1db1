#include "services/routing/store/pg_presence_events.h"

#include "libs/core/log.h"
#include "libs/pg/transaction.h"
#include "services/routing/store/routing_events.h"

namespace sundesk::routing {

void PgPresenceEvents::PresenceChanged(const std::string& agent_id, PresenceStatus from,
                                       PresenceStatus to) {
  events::v1::AgentPresenceChanged e;
  e.set_agent_id(agent_id);
  e.set_from_status(static_cast<v1::PresenceStatus>(from));
  e.set_to_status(static_cast<v1::PresenceStatus>(to));
  absl::Status st = pg::WithTransaction(pool_, [&](pg::Connection& tx) {
    return WriteRoutingEvent(tx, ids_, clock_,
                             {.source = std::string(kRoutingSource), .subject = agent_id}, e, "");
  });
  if (st.ok() && notifier_ != nullptr) notifier_->Notify();
  if (!st.ok()) {
    log::Warn("AgentPresenceChanged not written",
              {{"agent_id", agent_id}, {"error", st.ToString()}});
  }
}

}  // namespace sundesk::routing
