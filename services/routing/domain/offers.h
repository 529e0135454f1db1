#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "libs/core/clock.h"
#include "libs/core/ids.h"
#include "libs/core/worker_pool.h"
#include "services/routing/domain/presence.h"
#include "services/routing/domain/queue.h"
#include "services/routing/domain/router.h"

// Offers: the dispatcher that runs Router over the queue and proposes each ticket to one
// agent at a time (or, in AUTO_ASSIGN mode, has the ticket service assign it at once), and
// the answers to those offers. Offers live where every replica sees them (OfferStore);
// Redis only holds the capacity claims; the ticket service's assignment is the truth.
namespace sundesk::routing {

// Same numbers as the `state` column of routing.offers.
enum class OfferState { kOpen = 1, kAccepted = 2, kRejected = 3, kExpired = 4, kWithdrawn = 5 };

// Same numbers as sundesk.routing.v1.OfferWithdrawnReason.
enum class WithdrawReason {
  kNone = 0,
  kExpired = 1,
  kTicketChanged = 2,
  kAgentUnavailable = 3,
  kAnswered = 4,
  kUnknownOffer = 5,
};

struct Offer {
  std::string offer_id;
  std::string ticket_id;
  std::string tenant_id;
  std::string agent_id;
  std::string subject;
  std::string language;
  int priority = 0;  // sundesk.common.v1.Priority number
  std::string guidelines;
  int stage = 0;  // the overflow stage the agent matched at
  std::optional<absl::Time> sla_deadline;
  absl::Time queued_time;  // when the ticket was (last) queued
  absl::Time create_time;
  absl::Time expire_time;
  OfferState state = OfferState::kOpen;
  WithdrawReason withdraw_reason = WithdrawReason::kNone;
  std::string reason;  // the agent's, for a rejected offer
};

// What one routing decision stores, in the transaction that held the ticket.
struct RouteOutcome {
  std::optional<Offer> offer;  // OFFER mode: the offer made (with OfferMade)
  // AUTO_ASSIGN mode: the ticket service assigned the ticket to this agent, making its
  // version `assigned_version`; the queue's copy takes the assignee (the ticket leaves).
  std::string assigned_agent;
  int64_t assigned_version = 0;
};

// The new state of an offer (with its event: OfferAccepted, OfferRejected, OfferExpired;
// a withdrawal has none). The same state as stored changes nothing.
struct OfferAnswer {
  OfferState state = OfferState::kOpen;
  WithdrawReason withdraw_reason = WithdrawReason::kNone;
  std::string reason;
  // Accepted: the ticket's version after AssignTicket; the queue's copy takes the agent.
  int64_t assigned_version = 0;
};

// An open offer that needs an answer from routing itself: past its expiry, or its ticket
// stopped waiting (assigned otherwise, solved, closed).
struct DueOffer {
  Offer offer;
  bool ticket_waits = true;
  std::string ticket_assignee;  // the queue copy's assignee when it does not wait
};

// Where offers are kept (PostgreSQL in production). Thread-safe.
class OfferStore {
 public:
  virtual ~OfferStore() = default;

  // Queued tickets without an open offer, in routing order (earliest SLA deadline at risk,
  // priority, wait), after `after` (a ticket id of the previous page; empty: from the start).
  virtual absl::StatusOr<std::vector<QueueEntry>> Routable(
      const std::optional<QueuePosition>& after, int limit) = 0;

  using Decide = absl::FunctionRef<absl::StatusOr<RouteOutcome>(
      const QueueEntry& entry, const std::set<std::string>& excluded,
      const DecisionInputs& inputs)>;
  // Holds the ticket exclusively (across replicas) while `decide` runs with its current copy
  // and the agents who rejected it or let an offer of it lapse, then stores the outcome in
  // the same transaction. `inputs`: what the store read for the decision besides (the
  // directory revision, the tenant's policy) after taking the hold; may be empty. False,
  // without running `decide`, when the ticket no longer waits, already has an open offer, or
  // another replica holds it now. An error of `decide` rolls back and is returned.
  virtual absl::StatusOr<bool> Route(absl::string_view ticket_id, Decide decide) = 0;

  // NOT_FOUND when unknown.
  virtual absl::StatusOr<Offer> Get(absl::string_view offer_id) = 0;

  using Answer = absl::FunctionRef<absl::StatusOr<OfferAnswer>(const Offer& offer)>;
  // Holds the offer (in any state) while `answer` runs, then stores the new state and its
  // event at `at`. Returns the offer as stored after; nullopt when `skip_locked` and another
  // caller holds it now. NOT_FOUND when unknown; an error of `answer` changes nothing.
  virtual absl::StatusOr<std::optional<Offer>> Update(absl::string_view offer_id, absl::Time at,
                                                      bool skip_locked, Answer answer) = 0;

  // Open offers expired at `now` or whose ticket stopped waiting, at most `limit`.
  virtual absl::StatusOr<std::vector<DueOffer>> Due(absl::Time now, int limit) = 0;
  // Open offers, earliest expiry first, at most `limit`.
  virtual absl::StatusOr<std::vector<Offer>> OpenOffers(int limit) = 0;
  // The agent's open offers, and those of `offer_ids` (the agent's) in whatever state.
  virtual absl::StatusOr<std::vector<Offer>> AgentOffers(
      absl::string_view agent_id, const std::vector<std::string>& offer_ids) = 0;
  // What routing's own records say each agent holds: open offers (their claims) first, then
  // the tickets assigned to agents and neither solved nor closed (routing's copy of the
  // ticket service's assignments). The loads are rebuilt from it when Redis lost them.
  virtual absl::StatusOr<std::vector<Holding>> Holdings() = 0;
};

// A ticket's assignment as the ticket service has it.
struct TicketAssignment {
  std::string assignee_id;  // empty: unassigned
  int64_t version = 0;      // the ticket's version
};

// The ticket service, as routing assigns through it with its SERVICE key.
class TicketAssigner {
 public:
  virtual ~TicketAssigner() = default;
  // Assigns the ticket to `agent_id` unless someone else is its assignee already (assigned
  // by hand, or by a routing decision this replica has not heard of): routing never takes
  // a ticket over. Returns the assignment after the call: `assignee_id == agent_id` when the
  // agent has it (now or already), another agent's when it was left alone. FAILED_PRECONDITION
  // or NOT_FOUND when the ticket cannot be assigned (solved, closed, gone); UNAVAILABLE when
  // the ticket service cannot be asked.
  virtual absl::StatusOr<TicketAssignment> Assign(absl::string_view ticket_id,
                                                  absl::string_view agent_id,
                                                  absl::string_view offer_id, int stage) = 0;
  // The ticket's current assignment. FAILED_PRECONDITION when it is solved or closed,
  // NOT_FOUND when gone, UNAVAILABLE when the ticket service cannot be asked.
  virtual absl::StatusOr<TicketAssignment> Current(absl::string_view ticket_id) = 0;
};

// Told when an agent's offers changed (made, answered, expired, withdrawn) by this process,
// so that its open session sends them at once. Other replicas' changes reach sessions by
// polling the store.
class OfferListener {
 public:
  virtual ~OfferListener() = default;
  virtual void OffersChanged(const std::string& agent_id) = 0;
};

// Outcomes for metrics (prometheus in production; nothing in unit tests).
class RoutingObserver {
 public:
  virtual ~RoutingObserver() = default;
  // outcome: "made", "accepted", "rejected", "expired", "withdrawn", "auto_assigned".
  virtual void Offer(absl::string_view outcome) {}
  // A decision matched at an overflow stage above 0.
  virtual void Overflow(int stage) {}
  // How long one routing decision took (Router plus the claim).
  virtual void Decision(absl::Duration took) {}
  // Queued -> assigned (accepted or auto-assigned).
  virtual void Waited(absl::Duration waited) {}
};

struct OfferServiceOptions {
  int page_size = 200;  // queued tickets read per page of a dispatch pass
  // Tickets of a page decided at once, each in its own transaction on its own thread
  // (rows are held with SKIP LOCKED, claims are atomic): 1 decides them one after another.
  int route_workers = 1;
};

// Makes offers and takes their answers. Thread-safe; Dispatch() may run in several threads
// and replicas at once (each ticket is held by one of them while it is decided).
class OfferService {
 public:
  OfferService(OfferStore& offers, AgentStore& agents, Router& router, PresenceStore& presence,
               RoutingPolicyStore& policies, TenantDirectory& tenants, TicketAssigner& assigner,
               const Clock& clock, IdGenerator& ids, OfferServiceOptions options = {})
      : offers_(offers),
        agents_(agents),
        router_(router),
        presence_(presence),
        policies_(policies),
        tenants_(tenants),
        assigner_(assigner),
        clock_(clock),
        ids_(ids),
        options_(options),
        workers_(options.route_workers > 1
                     ? std::make_unique<WorkerPool>(options.route_workers, "route")
                     : nullptr) {}

  void set_listener(OfferListener* listener) { listener_ = listener; }
  void set_observer(RoutingObserver* observer) { observer_ = observer; }
  // Called when a ticket may be routed again at once (its offer was rejected or withdrawn
  // because the agent left), so the dispatcher need not wait for its interval. Set before
  // use; called on the answering thread.
  void set_requeued(std::function<void()> requeued) { requeued_ = std::move(requeued); }

  // One pass: answers due offers (expired, ticket changed), withdraws the open offers of
  // agents whose shift has ended (follow-the-sun: the ticket goes to someone on shift), makes
  // sure the agents' loads are known (EnsureLoads), then routes every queued ticket without
  // an open offer. Returns how many offers were made or tickets auto-assigned.
  absl::StatusOr<int> Dispatch();
  // Only the last part of a pass: routes every queued ticket without an open offer (once
  // the loads are known). For passes between full ones, as soon as the queue changed.
  absl::StatusOr<int> RouteQueue();

  // When the presence store lost the loads (Redis restarted empty or flushed), rebuilds them
  // from routing's own records (OfferStore::Holdings: open offers and assigned open tickets)
  // before any claim is made again; one replica at a time. True when the loads are known
  // (now or already); false when another replica is rebuilding them.
  absl::StatusOr<bool> EnsureLoads();

  // The agent accepts: the ticket service assigns the ticket before this returns. Accepting
  // an accepted offer returns it again. NOT_FOUND for an unknown offer or another agent's;
  // FAILED_PRECONDITION when it is not open (expired, withdrawn, rejected) or its ticket
  // cannot be assigned any more; UNAVAILABLE when the ticket service cannot be reached (the
  // offer stays open until it expires).
  absl::StatusOr<Offer> Accept(absl::string_view agent_id, absl::string_view offer_id);
  // The agent rejects: the ticket goes to the next agent, never to this one again. Rejecting
  // a rejected offer changes nothing. INVALID_ARGUMENT for a reason over 500 chars.
  absl::StatusOr<Offer> Reject(absl::string_view agent_id, absl::string_view offer_id,
                               absl::string_view reason);
  // The agent became unavailable (its session ended): its open offers are withdrawn and their
  // claims released; the tickets go to others (this agent may get them again later).
  absl::Status WithdrawAgentOffers(absl::string_view agent_id);

  // The agent's open offers and the current state of `offer_ids` (for its session).
  absl::StatusOr<std::vector<Offer>> AgentOffers(absl::string_view agent_id,
                                                 const std::vector<std::string>& offer_ids) {
    return offers_.AgentOffers(agent_id, offer_ids);
  }

 private:
  // Routes one ticket; true when an offer was made or the ticket assigned.
  absl::StatusOr<bool> RouteOne(const QueueEntry& entry);
  absl::Status AnswerDue(const DueOffer& due);
  // Withdraws (AGENT_UNAVAILABLE) `offer` if still open; true when it did.
  absl::StatusOr<bool> WithdrawForAgent(const Offer& offer);
  absl::Status WithdrawOffShift();
  // A claim routing holds for an offer that was not accepted goes back.
  void ReleaseClaim(const Offer& offer);
  // The ticket service gave the ticket to `assignee` without routing: it counts in that
  // agent's load, and `claimant`'s claim on it (if another agent's) goes back.
  void TakenBy(const std::string& assignee, const std::string& claimant,
               const std::string& ticket_id);
  void Changed(const std::string& agent_id);
  absl::StatusOr<Offer> Lookup(absl::string_view agent_id, absl::string_view offer_id);

  OfferStore& offers_;
  AgentStore& agents_;
  Router& router_;
  PresenceStore& presence_;
  RoutingPolicyStore& policies_;
  TenantDirectory& tenants_;
  TicketAssigner& assigner_;
  const Clock& clock_;
  IdGenerator& ids_;
  const OfferServiceOptions options_;
  OfferListener* listener_ = nullptr;
  RoutingObserver* observer_ = nullptr;
  std::function<void()> requeued_;
  // Where a page's tickets are decided when route_workers > 1; last, so that it is
  // destroyed (its tasks finished) before the rest.
  std::unique_ptr<WorkerPool> workers_;
};

}  // namespace sundesk::routing
