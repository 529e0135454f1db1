#pragma once

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "libs/pg/listener.h"
#include "libs/pg/pool.h"
#include "services/routing/domain/offers.h"

namespace sundesk::routing {

// The channel replicas announce changed offers on (payload: the sender's origin, then the
// agents, one a line).
inline constexpr char kOfferChannel[] = "sundesk_routing_offers";

struct PgOfferWakeupsOptions {
  std::string dsn;  // for the LISTENing session
  // Agents whose offers changed within this interval go out in one NOTIFY.
  absl::Duration min_interval = absl::Milliseconds(2);
};

// Offers changed by one replica reach the open AgentSessions of every replica at once, not
// at their next poll. As the OfferListener of this process's OfferService it tells `local`
// (this process's sessions) at once and queues the agent for a NOTIFY sent from its own
// thread after the change committed — never inside routing's transactions, where a NOTIFY
// would serialize their commits — coalescing the agents of `min_interval` into one
// notification. Its listening thread (pg::Listener) tells `local` of the agents other
// replicas announced (its own announcements are recognised by their origin and skipped). A
// notification lost (a reconnection) costs the sessions' poll interval, as before.
class PgOfferWakeups final : public OfferListener {
 public:
  // UNAVAILABLE when the LISTENing session cannot connect.
  static absl::StatusOr<std::unique_ptr<PgOfferWakeups>> Create(pg::Pool& pool,
                                                                OfferListener& local,
                                                                PgOfferWakeupsOptions options);
  // Stops both threads (what is still queued is not announced: the sessions' poll finds it).
  ~PgOfferWakeups() override;
  PgOfferWakeups(const PgOfferWakeups&) = delete;
  PgOfferWakeups& operator=(const PgOfferWakeups&) = delete;

  // Cheap and non-blocking apart from `local`'s own call.
  void OffersChanged(const std::string& agent_id) override;

 private:
  PgOfferWakeups(pg::Pool& pool, OfferListener& local, PgOfferWakeupsOptions options,
                 std::unique_ptr<pg::Listener> listener);
  void Announce();
  void Listen();

  pg::Pool& pool_;
  OfferListener& local_;
  const PgOfferWakeupsOptions options_;
  const std::string origin_;  // tells this process's notifications apart
  std::unique_ptr<pg::Listener> listener_;
  absl::Mutex mu_;
  std::vector<std::string> queued_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread announcer_;
  std::thread listening_;
};

}  // namespace sundesk::routing
