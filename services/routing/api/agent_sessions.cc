#include "services/routing/api/agent_sessions.h"

#include <deque>
#include <set>
#include <utility>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/strings/str_cat.h"
#include "libs/core/log.h"
#include "libs/rpc/auth.h"
#include "libs/rpc/status.h"
#include "services/routing/store/routing_events.h"

namespace sundesk::routing {

namespace pb = ::sundesk::routing::v1;

namespace {

pb::OfferWithdrawnReason WithdrawnReasonOf(const Offer& o) {
  switch (o.state) {
    case OfferState::kExpired:
      return pb::OFFER_WITHDRAWN_REASON_EXPIRED;
    case OfferState::kWithdrawn:
      return o.withdraw_reason == WithdrawReason::kNone
                 ? pb::OFFER_WITHDRAWN_REASON_TICKET_CHANGED
                 : static_cast<pb::OfferWithdrawnReason>(o.withdraw_reason);
    case OfferState::kAccepted:
    case OfferState::kRejected:
      return pb::OFFER_WITHDRAWN_REASON_ANSWERED;
    case OfferState::kOpen:
      break;
  }
  return pb::OFFER_WITHDRAWN_REASON_UNSPECIFIED;
}

}  // namespace

// One AgentSession call. Owned by shared_ptrs: its own (dropped in OnDone), the registry's,
// and those of queued session work, so work that outlives the call finds the object alive
// and merely stops touching the call.
//
// Call operations follow gRPC's rules without holding mu_ while issuing them (a reaction
// may run inline): under mu_ Pump() decides the next StartRead/StartWrite/Finish and counts
// it in `issuing_`; Finish is decided only when no write is in flight and nothing is being
// issued, so OnDone (after which the call is gone) cannot overtake an operation.
class AgentSession final : public grpc::ServerBidiReactor<pb::AgentMessage, pb::RoutingMessage> {
 public:
  AgentSession(AgentSessions& registry, grpc::CallbackServerContext* context)
      : registry_(registry), key_(rpc::BearerKey(*context)) {}

  void Start(std::shared_ptr<AgentSession> self) {
    {
      absl::MutexLock lock(&mu_);
      self_weak_ = self;
      self_ = self;
    }
    Serially([this] { Open(); });
  }

  const std::string& agent_id() const { return agent_id_; }

  // Ends the session with `status` (the first call wins).
  void Close(grpc::Status status) {
    {
      absl::MutexLock lock(&mu_);
      if (finish_requested_) return;
      finish_requested_ = true;
      finish_status_ = std::move(status);
      outbox_.clear();
    }
    Pump();
  }

  // Re-reads the agent's offers soon (coalesced).
  void Sync() {
    {
      absl::MutexLock lock(&mu_);
      if (sync_pending_ || !opened_ || finish_requested_) return;
      sync_pending_ = true;
    }
    Serially([this] {
      {
        absl::MutexLock lock(&mu_);
        sync_pending_ = false;
      }
      SyncOffers();
    });
  }

  bool TimedOut(absl::Time now) {
    absl::MutexLock lock(&mu_);
    return opened_ && !finish_requested_ &&
           now - last_message_ > registry_.options_.heartbeat_timeout;
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      // The desktop closed its side, or the call broke: the session is over.
      {
        absl::MutexLock lock(&mu_);
        reading_ = false;
      }
      Close(grpc::Status::OK);
      return;
    }
    pb::AgentMessage message;
    {
      absl::MutexLock lock(&mu_);
      reading_ = false;
      message.Swap(&read_);
      last_message_ = registry_.clock_.Now();
    }
    Serially([this, message = std::move(message)] {
      Handle(message);
      {
        absl::MutexLock lock(&mu_);
        want_read_ = true;
      }
      Pump();
    });
  }

  void OnWriteDone(bool ok) override {
    {
      absl::MutexLock lock(&mu_);
      writing_ = false;
      if (!ok) {
        // The client is gone; what is left to send has nowhere to go.
        outbox_.clear();
        if (!finish_requested_) {
          finish_requested_ = true;
          finish_status_ = grpc::Status::OK;
        }
      }
    }
    Pump();
  }

  void OnCancel() override { Close(grpc::Status::CANCELLED); }

  void OnDone() override {
    std::shared_ptr<AgentSession> self;
    {
      absl::MutexLock lock(&mu_);
      done_ = true;
      self = std::move(self_);
    }
    // The agent goes OFFLINE and its open offers go to others, unless a newer session of
    // the same agent took over.
    self->Serially([this] { Cleanup(); });
  }

 private:
  // Runs `fn` on a session thread, one task of this session at a time, in order.
  void Serially(absl::AnyInvocable<void() &&> fn) {
    bool start = false;
    {
      absl::MutexLock lock(&mu_);
      tasks_.push_back(std::move(fn));
      if (!task_running_) start = task_running_ = true;
    }
    if (!start) return;
    std::shared_ptr<AgentSession> self = shared_from_self();
    registry_.workers_.Schedule([self] { self->RunTasks(); });
  }

  void RunTasks() {
    for (;;) {
      absl::AnyInvocable<void() &&> task;
      {
        absl::MutexLock lock(&mu_);
        if (tasks_.empty()) {
          task_running_ = false;
          return;
        }
        task = std::move(tasks_.front());
        tasks_.pop_front();
      }
      std::move(task)();
    }
  }

  std::shared_ptr<AgentSession> shared_from_self() {
    absl::MutexLock lock(&mu_);
    return self_ != nullptr ? self_ : self_weak_.lock();
  }

  void Open() {
    absl::StatusOr<rpc::Principal> caller =
        key_.ok() ? registry_.auth_.Resolve(*key_) : key_.status();
    if (!caller.ok()) return Close(rpc::ToGrpcStatus(caller.status()));
    if (absl::Status st = rpc::RequireRole(*caller, {rpc::Role::kAgent}); !st.ok()) {
      return Close(rpc::ToGrpcStatus(st));
    }
    absl::StatusOr<Agent> agent = registry_.agents_.GetAgent(caller->agent_id);
    if (absl::IsNotFound(agent.status())) {
      return Close(grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                                absl::StrCat("agent '", caller->agent_id, "' does not exist")));
    }
    if (!agent.ok()) return Close(rpc::ToGrpcStatus(agent.status()));
    if (agent->disabled) {
      return Close(grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                                absl::StrCat("agent '", agent->agent_id, "' is disabled")));
    }
    agent_ = *agent;
    agent_id_ = agent_.agent_id;
    {
      absl::MutexLock lock(&mu_);
      if (finish_requested_) return;  // cancelled meanwhile
    }
    registry_.Register(shared_from_self());
    if (!SetStatus(PresenceStatus::kAway)) return;
    {
      absl::MutexLock lock(&mu_);
      opened_ = true;
      last_message_ = registry_.clock_.Now();
      want_read_ = true;
    }
    SyncOffers();  // open offers are sent again
    Pump();
  }

  // False (and the session ending) when presence cannot be stored.
  bool SetStatus(PresenceStatus status) {
    absl::StatusOr<PresenceStatus> before =
        registry_.presence_.SetSessionPresence(agent_, status, registry_.options_.presence_ttl);
    if (!before.ok()) {
      Close(rpc::ToGrpcStatus(before.status()));
      return false;
    }
    status_ = status;
    return true;
  }

  void Handle(const pb::AgentMessage& message) {
    {
      absl::MutexLock lock(&mu_);
      if (finish_requested_) return;
    }
    pb::RoutingMessage reply;
    switch (message.kind_case()) {
      case pb::AgentMessage::kPresence: {
        const auto status = message.presence().status();
        if (status != pb::PRESENCE_STATUS_AVAILABLE && status != pb::PRESENCE_STATUS_AWAY &&
            status != pb::PRESENCE_STATUS_BUSY) {
          return Close(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                    "presence.status: must be PRESENCE_STATUS_AVAILABLE, _AWAY "
                                    "or _BUSY (end the stream to go offline)"));
        }
        if (!SetStatus(static_cast<PresenceStatus>(status))) return;
        reply.mutable_ack();
        break;
      }
      case pb::AgentMessage::kHeartbeat: {
        // A status that lapsed (Redis restarted or flushed) comes back with the heartbeat.
        absl::StatusOr<bool> alive =
            registry_.presence_.Refresh(agent_id_, registry_.options_.presence_ttl);
        if (!alive.ok()) return Close(rpc::ToGrpcStatus(alive.status()));
        if (!*alive && !SetStatus(status_)) return;
        reply.mutable_ack();
        break;
      }
      case pb::AgentMessage::kAccept:
        if (!Answer(message.accept().offer_id(), true, "", &reply)) return;
        break;
      case pb::AgentMessage::kReject:
        if (!Answer(message.reject().offer_id(), false, message.reject().reason(), &reply)) return;
        break;
      case pb::AgentMessage::KIND_NOT_SET:
        return Close(
            grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                         "kind: one of presence, heartbeat, accept or reject must be set"));
    }
    // Every message counts as a heartbeat.
    if (message.kind_case() != pb::AgentMessage::kHeartbeat) {
      (void)registry_.presence_.Refresh(agent_id_, registry_.options_.presence_ttl);
    }
    Send(std::move(reply));
  }

  // Accept or reject; fills `reply` (ack, or offer_withdrawn when the offer was not open).
  // False when the session ended.
  bool Answer(const std::string& offer_id, bool accept, const std::string& reason,
              pb::RoutingMessage* reply) {
    absl::StatusOr<Offer> answered = accept ? registry_.offers_.Accept(agent_id_, offer_id)
                                            : registry_.offers_.Reject(agent_id_, offer_id, reason);
    if (answered.ok()) {
      sent_.erase(offer_id);  // answered here: no withdrawal follows
      reply->mutable_ack()->set_offer_id(offer_id);
      if (accept) reply->mutable_ack()->set_ticket_id(answered->ticket_id);
      return true;
    }
    const absl::Status& st = answered.status();
    if (absl::IsInvalidArgument(st)) {
      Close(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                         absl::StrCat(accept ? "accept." : "reject.", st.message())));
      return false;
    }
    if (!absl::IsNotFound(st) && !absl::IsFailedPrecondition(st)) {
      // The ticket service or a store is down: the offer stays open; reconnect and retry.
      Close(rpc::ToGrpcStatus(st));
      return false;
    }
    auto* withdrawn = reply->mutable_offer_withdrawn();
    withdrawn->set_offer_id(offer_id);
    withdrawn->set_reason(pb::OFFER_WITHDRAWN_REASON_UNKNOWN_OFFER);
    if (absl::IsFailedPrecondition(st)) {
      absl::StatusOr<std::vector<Offer>> now = registry_.offers_.AgentOffers(agent_id_, {offer_id});
      withdrawn->set_reason(pb::OFFER_WITHDRAWN_REASON_EXPIRED);
      if (now.ok()) {
        for (const Offer& o : *now) {
          if (o.offer_id == offer_id && o.state != OfferState::kOpen) {
            withdrawn->set_reason(WithdrawnReasonOf(o));
          }
        }
      }
    }
    sent_.erase(offer_id);
    return true;
  }

  // Sends offers new to this session, and withdrawals of sent ones no longer open.
  void SyncOffers() {
    std::vector<std::string> sent(sent_.begin(), sent_.end());
    absl::StatusOr<std::vector<Offer>> offers = registry_.offers_.AgentOffers(agent_id_, sent);
    if (!offers.ok()) {
      log::Warn("session offers not read",
                {{"agent_id", agent_id_}, {"error", offers.status().ToString()}});
      return;
    }
    for (const Offer& o : *offers) {
      pb::RoutingMessage m;
      if (o.state == OfferState::kOpen) {
        if (!sent_.insert(o.offer_id).second) continue;
        OfferToProto(o, m.mutable_offer());
      } else {
        if (sent_.erase(o.offer_id) == 0) continue;
        m.mutable_offer_withdrawn()->set_offer_id(o.offer_id);
        m.mutable_offer_withdrawn()->set_reason(WithdrawnReasonOf(o));
      }
      Send(std::move(m));
    }
  }

  void Send(pb::RoutingMessage message) {
    {
      absl::MutexLock lock(&mu_);
      if (finish_requested_) return;
      outbox_.push_back(std::move(message));
    }
    Pump();
  }

  void Pump() {
    for (;;) {
      enum class Op { kNone, kRead, kWrite, kFinish } op = Op::kNone;
      {
        absl::MutexLock lock(&mu_);
        if (finish_called_ || done_) return;
        if (finish_requested_) {
          if (writing_ || issuing_ > 0) return;  // finished once the write completes
          finish_called_ = true;
          op = Op::kFinish;
        } else if (!writing_ && !outbox_.empty()) {
          writing_ = true;
          ++issuing_;
          writing_message_ = std::move(outbox_.front());
          outbox_.pop_front();
          op = Op::kWrite;
        } else if (want_read_ && !reading_) {
          want_read_ = false;
          reading_ = true;
          ++issuing_;
          op = Op::kRead;
        } else {
          return;
        }
      }
      switch (op) {
        case Op::kFinish:
          Finish(finish_status_);
          return;
        case Op::kWrite:
          StartWrite(&writing_message_);
          break;
        case Op::kRead:
          StartRead(&read_);
          break;
        case Op::kNone:
          return;
      }
      absl::MutexLock lock(&mu_);
      --issuing_;
    }
  }

  void Cleanup() {
    const bool current = registry_.Unregister(this);
    bool opened = false;
    {
      absl::MutexLock lock(&mu_);
      opened = opened_;
    }
    if (!current || !opened) return;
    absl::StatusOr<PresenceStatus> before = registry_.presence_.SetSessionPresence(
        agent_, PresenceStatus::kOffline, absl::ZeroDuration());
    if (!before.ok()) {
      log::Warn("agent not set OFFLINE after its session",
                {{"agent_id", agent_id_}, {"error", before.status().ToString()}});
    }
    if (absl::Status st = registry_.offers_.WithdrawAgentOffers(agent_id_); !st.ok()) {
      log::Warn("offers of a closed session not withdrawn (they expire instead)",
                {{"agent_id", agent_id_}, {"error", st.ToString()}});
    }
  }

  AgentSessions& registry_;
  const absl::StatusOr<std::string> key_;
  // Set by Open() before the session registers; read-only after.
  Agent agent_;
  std::string agent_id_;
  // Only touched by this session's serial tasks.
  std::set<std::string> sent_;  // offers sent and not yet answered or withdrawn
  PresenceStatus status_ = PresenceStatus::kAway;

  absl::Mutex mu_;
  std::shared_ptr<AgentSession> self_ ABSL_GUARDED_BY(mu_);
  std::weak_ptr<AgentSession> self_weak_ ABSL_GUARDED_BY(mu_);
  std::deque<absl::AnyInvocable<void() &&>> tasks_ ABSL_GUARDED_BY(mu_);
  bool task_running_ ABSL_GUARDED_BY(mu_) = false;
  bool opened_ ABSL_GUARDED_BY(mu_) = false;
  bool sync_pending_ ABSL_GUARDED_BY(mu_) = false;
  absl::Time last_message_ ABSL_GUARDED_BY(mu_);
  std::deque<pb::RoutingMessage> outbox_ ABSL_GUARDED_BY(mu_);
  pb::RoutingMessage writing_message_;  // owned by the write in flight
  pb::AgentMessage read_;               // owned by the read in flight
  bool want_read_ ABSL_GUARDED_BY(mu_) = false;
  bool reading_ ABSL_GUARDED_BY(mu_) = false;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  int issuing_ ABSL_GUARDED_BY(mu_) = 0;
  bool finish_requested_ ABSL_GUARDED_BY(mu_) = false;
  bool finish_called_ ABSL_GUARDED_BY(mu_) = false;
  bool done_ ABSL_GUARDED_BY(mu_) = false;
  grpc::Status finish_status_;
};

AgentSessions::AgentSessions(OfferService& offers, PresenceService& presence,
                             AgentDirectory& agents, const rpc::Authenticator& authenticator,
                             const Clock& clock, AgentSessionOptions options)
    : offers_(offers),
      presence_(presence),
      agents_(agents),
      auth_(authenticator),
      clock_(clock),
      options_(options),
      workers_(options.threads, "session") {
  poller_ = std::thread([this] { Poll(); });
}

AgentSessions::~AgentSessions() {
  stop_.Notify();
  poller_.join();
  absl::MutexLock lock(&mu_);
  sessions_.clear();
}

grpc::ServerBidiReactor<pb::AgentMessage, pb::RoutingMessage>* AgentSessions::Open(
    grpc::CallbackServerContext* context) {
  auto session = std::make_shared<AgentSession>(*this, context);
  session->Start(session);
  return session.get();
}

void AgentSessions::Register(const std::shared_ptr<AgentSession>& session) {
  std::shared_ptr<AgentSession> previous;
  {
    absl::MutexLock lock(&mu_);
    auto& slot = sessions_[session->agent_id()];
    previous = std::move(slot);
    slot = session;
  }
  if (previous != nullptr && previous != session) {
    previous->Close(
        grpc::Status(grpc::StatusCode::ABORTED, "a newer session of the same agent took over"));
  }
}

bool AgentSessions::Unregister(const AgentSession* session) {
  absl::MutexLock lock(&mu_);
  auto it = sessions_.find(session->agent_id());
  if (it == sessions_.end() || it->second.get() != session) return false;
  sessions_.erase(it);
  return true;
}

void AgentSessions::OffersChanged(const std::string& agent_id) {
  std::shared_ptr<AgentSession> session;
  {
    absl::MutexLock lock(&mu_);
    auto it = sessions_.find(agent_id);
    if (it == sessions_.end()) return;
    session = it->second;
  }
  session->Sync();
}

void AgentSessions::CloseAll() {
  std::vector<std::shared_ptr<AgentSession>> all;
  {
    absl::MutexLock lock(&mu_);
    for (auto& [agent, s] : sessions_) all.push_back(s);
  }
  for (auto& s : all) s->Close(grpc::Status(grpc::StatusCode::UNAVAILABLE, "server shutdown"));
}

int AgentSessions::open_sessions() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(sessions_.size());
}

void AgentSessions::Poll() {
  while (!stop_.WaitForNotificationWithTimeout(options_.poll_interval)) {
    std::vector<std::shared_ptr<AgentSession>> all;
    {
      absl::MutexLock lock(&mu_);
      for (auto& [agent, s] : sessions_) all.push_back(s);
    }
    const absl::Time now = clock_.Now();
    for (auto& s : all) {
      if (s->TimedOut(now)) {
        s->Close(grpc::Status(grpc::StatusCode::UNAVAILABLE,
                              "no message within the heartbeat timeout; reconnect"));
      } else {
        s->Sync();
      }
    }
  }
}

}  // namespace sundesk::routing
