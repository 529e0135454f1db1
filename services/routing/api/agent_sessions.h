#pragma once

#include <map>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "grpcpp/support/server_callback.h"
#include "libs/core/clock.h"
#include "libs/core/worker_pool.h"
#include "libs/rpc/auth.h"
#include "services/routing/domain/agent_directory.h"
#include "services/routing/domain/offers.h"
#include "services/routing/domain/presence.h"
#include "sundesk/routing/v1/routing_service.grpc.pb.h"

namespace sundesk::routing {

struct AgentSessionOptions {
  // A session that receives no message for this long ends with UNAVAILABLE.
  absl::Duration heartbeat_timeout = absl::Seconds(30);
  // The TTL of a session's presence in Redis, renewed by every message it receives.
  absl::Duration presence_ttl = absl::Seconds(30);
  // How often each session re-reads its offers (offers other replicas made or answered reach
  // it within this; this process's own changes are sent at once).
  absl::Duration poll_interval = absl::Seconds(1);
  int threads = 4;  // session work (presence, answers, offer reads) runs here
};

class AgentSession;

// The open AgentSession streams of this process, one per agent (a newer one takes over and
// the older ends with ABORTED). Sessions get their offers from the OfferService: at once
// when this process changed them (OfferListener), else by polling every poll_interval. A
// session that ends (closed, cancelled, heartbeat timeout, taken over) makes its agent
// OFFLINE and withdraws its open offers, unless a newer session took over.
//
// Destroy after the gRPC server has shut down; the destructor ends polling and runs the
// session work still queued.
class AgentSessions final : public OfferListener {
 public:
  AgentSessions(OfferService& offers, PresenceService& presence, AgentDirectory& agents,
                const rpc::Authenticator& authenticator, const Clock& clock,
                AgentSessionOptions options = {});
  ~AgentSessions() override;
  AgentSessions(const AgentSessions&) = delete;
  AgentSessions& operator=(const AgentSessions&) = delete;

  // The reactor of one AgentSession call.
  grpc::ServerBidiReactor<v1::AgentMessage, v1::RoutingMessage>* Open(
      grpc::CallbackServerContext* context);

  void OffersChanged(const std::string& agent_id) override;

  // Ends every session with UNAVAILABLE (server shutdown: agents reconnect elsewhere).
  void CloseAll();

  // Sessions open now (for tests and metrics).
  int open_sessions() const;

 private:
  friend class AgentSession;

  // Registers `session` as its agent's; the previous one ends with ABORTED.
  void Register(const std::shared_ptr<AgentSession>& session);
  // Forgets `session`; true when it was still its agent's current one.
  bool Unregister(const AgentSession* session);
  void Poll();

  OfferService& offers_;
  PresenceService& presence_;
  AgentDirectory& agents_;
  const rpc::Authenticator& auth_;
  const Clock& clock_;
  const AgentSessionOptions options_;

  mutable absl::Mutex mu_;
  std::map<std::string, std::shared_ptr<AgentSession>> sessions_ ABSL_GUARDED_BY(mu_);

  absl::Notification stop_;
  std::thread poller_;
  // Last: destroyed first, so queued session work finishes while everything it uses lives.
  WorkerPool workers_;
};

}  // namespace sundesk::routing
