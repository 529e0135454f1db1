#include "services/routing/domain/offers.h"

#include <algorithm>
#include <atomic>
#include <iterator>
#include <map>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/blocking_counter.h"
#include "libs/core/log.h"
#include "libs/core/status.h"

namespace sundesk::routing {
namespace {

constexpr size_t kMaxReasonChars = 500;

absl::Status OfferNotFound(absl::string_view offer_id) {
  return absl::NotFoundError(
      absl::StrCat("offer '", absl::CHexEscape(offer_id.substr(0, 64)), "' not found"));
}

absl::string_view StateName(OfferState s) {
  switch (s) {
    case OfferState::kOpen:
      return "open";
    case OfferState::kAccepted:
      return "accepted";
    case OfferState::kRejected:
      return "rejected";
    case OfferState::kExpired:
      return "expired";
    case OfferState::kWithdrawn:
      return "withdrawn";
  }
  return "unknown";
}

absl::Status NotOpen(const Offer& o) {
  return absl::FailedPreconditionError(
      absl::StrCat("offer '", o.offer_id, "' is no longer open: it was ", StateName(o.state)));
}

// Counts UTF-8 code points, not bytes.
size_t Utf8Chars(absl::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

}  // namespace

absl::StatusOr<int> OfferService::Dispatch() {
  // Answers first: an expired offer frees its agent and its ticket for this very pass.
  SUNDESK_ASSIGN_OR_RETURN(std::vector<DueOffer> due, offers_.Due(clock_.Now(), 500));
  for (const DueOffer& d : due) {
    if (absl::Status st = AnswerDue(d); !st.ok()) {
      log::Warn("due offer not answered",
                {{"offer_id", d.offer.offer_id}, {"error", st.ToString()}});
    }
  }
  if (absl::Status st = WithdrawOffShift(); !st.ok()) {
    log::Warn("offers of agents off shift not withdrawn", {{"error", st.ToString()}});
  }
  return RouteQueue();
}

absl::StatusOr<int> OfferService::RouteQueue() {
  int done = 0;
  // No claim trusts a load Redis forgot: routing waits until the loads are rebuilt.
  SUNDESK_ASSIGN_OR_RETURN(bool loads_known, EnsureLoads());
  if (!loads_known) return done;
  std::optional<QueuePosition> after;
  for (;;) {
    SUNDESK_ASSIGN_OR_RETURN(std::vector<QueueEntry> page,
                             offers_.Routable(after, options_.page_size));
    auto route = [this](const QueueEntry& entry) -> int {
      absl::StatusOr<bool> routed = RouteOne(entry);
      if (!routed.ok()) {
        // One ticket's trouble (its tenant unknown, the ticket service down) must not hold
        // up the rest of the queue; it is tried again on the next pass.
        log::Warn("ticket not routed",
                  {{"ticket_id", entry.ticket.ticket_id}, {"error", routed.status().ToString()}});
        return 0;
      }
      return *routed ? 1 : 0;
    };
    if (workers_ == nullptr || page.size() < 2) {
      for (const QueueEntry& entry : page) done += route(entry);
    } else {
      // The page's tickets at once, in routing order as workers come free; the pass ends
      // when all of them are decided.
      std::atomic<int> routed{0};
      absl::BlockingCounter finished(static_cast<int>(page.size()));
      for (const QueueEntry& entry : page) {
        workers_->Schedule([&, entry_ptr = &entry] {
          routed.fetch_add(route(*entry_ptr));
          finished.DecrementCount();
        });
      }
      finished.Wait();
      done += routed.load();
    }
    if (static_cast<int>(page.size()) < options_.page_size) break;
    const QueueEntry& last = page.back();
    after = QueuePosition{.sla_deadline = last.sla_deadline,
                          .priority = last.ticket.priority,
                          .queued_time = last.queued_time,
                          .ticket_id = last.ticket.ticket_id};
  }
  return done;
}

absl::StatusOr<bool> OfferService::RouteOne(const QueueEntry& queued) {
  std::optional<MatchDecision> claimed;
  bool fresh_claim = false;
  std::string offer_agent;
  absl::StatusOr<bool> held = offers_.Route(
      queued.ticket.ticket_id,
      [&](const QueueEntry& entry, const std::set<std::string>& excluded,
          const DecisionInputs& inputs) -> absl::StatusOr<RouteOutcome> {
        const TicketCopy& t = entry.ticket;
        const TicketToRoute ticket{.ticket_id = t.ticket_id,
                                   .tenant_id = t.tenant_id,
                                   .language = t.language,
                                   .required_skills = t.required_skills,
                                   .queued_time = entry.queued_time};
        const absl::Time started = clock_.Now();
        RoutingPolicy policy;  // the tenant's, as the decision read it
        absl::StatusOr<std::optional<MatchDecision>> decision =
            router_.Route(ticket, excluded, &policy, &inputs);
        if (absl::IsAborted(decision.status())) {
          // Someone holds the ticket although it waits here with no open offer: a claim that
          // outlived its offer (a replica died between the claim and storing the offer), or
          // an assignment routing has not heard of yet (a replica died between AssignTicket
          // and its commit, or a hand assignment). The ticket service says which.
          SUNDESK_ASSIGN_OR_RETURN(std::string holder, presence_.Holder(t.ticket_id));
          SUNDESK_ASSIGN_OR_RETURN(TicketAssignment current, assigner_.Current(t.ticket_id));
          if (!current.assignee_id.empty()) {
            TakenBy(current.assignee_id, holder, t.ticket_id);
            RouteOutcome outcome;
            outcome.assigned_agent = current.assignee_id;
            outcome.assigned_version = current.version;
            return outcome;
          }
          if (!holder.empty())
            SUNDESK_RETURN_IF_ERROR(presence_.Release(holder, t.ticket_id).status());
          decision = router_.Route(ticket, excluded, &policy, &inputs);
        }
        SUNDESK_RETURN_IF_ERROR(decision.status());
        if (observer_ != nullptr) observer_->Decision(clock_.Now() - started);
        if (!decision->has_value()) return RouteOutcome{};
        claimed = **decision;
        fresh_claim = true;
        if (claimed->stage > 0 && observer_ != nullptr) observer_->Overflow(claimed->stage);

        SUNDESK_ASSIGN_OR_RETURN(TenantInfo tenant, tenants_.GetTenant(t.tenant_id));
        RouteOutcome outcome;
        if (tenant.auto_assign) {
          SUNDESK_ASSIGN_OR_RETURN(
              TicketAssignment assigned,
              assigner_.Assign(t.ticket_id, claimed->agent_id, "", claimed->stage));
          fresh_claim = false;  // the claim is now the agent's load, or goes back just below
          outcome.assigned_agent = assigned.assignee_id;
          outcome.assigned_version = assigned.version;
          if (assigned.assignee_id != claimed->agent_id) {
            // Assigned to someone else meanwhile: it stays theirs, and leaves the queue.
            TakenBy(assigned.assignee_id, claimed->agent_id, t.ticket_id);
            claimed.reset();
            return outcome;
          }
          if (observer_ != nullptr) {
            observer_->Offer("auto_assigned");
            observer_->Waited(clock_.Now() - entry.queued_time);
          }
          return outcome;
        }
        const absl::Duration timeout = policy.offer_timeout;
        const absl::Time now = clock_.Now();
        Offer offer;
        offer.offer_id = ids_.NewId();
        offer.ticket_id = t.ticket_id;
        offer.tenant_id = t.tenant_id;
        offer.agent_id = claimed->agent_id;
        offer.subject = t.subject;
        offer.language = t.language;
        offer.priority = t.priority;
        offer.guidelines = tenant.guidelines;
        offer.stage = claimed->stage;
        offer.sla_deadline = entry.sla_deadline;
        offer.queued_time = entry.queued_time;
        offer.create_time = now;
        offer.expire_time = now + timeout;
        offer_agent = offer.agent_id;
        outcome.offer = std::move(offer);
        return outcome;
      });
  if (!held.ok()) {
    // Nothing was stored: a claim made for it goes back.
    if (fresh_claim && claimed.has_value()) {
      (void)presence_.Release(claimed->agent_id, queued.ticket.ticket_id);
    }
    return held.status();
  }
  if (!offer_agent.empty()) {
    if (observer_ != nullptr) observer_->Offer("made");
    Changed(offer_agent);
  }
  return *held && claimed.has_value();
}

absl::StatusOr<bool> OfferService::EnsureLoads() {
  SUNDESK_ASSIGN_OR_RETURN(bool ready, presence_.LoadsReady());
  if (ready) return true;
  SUNDESK_ASSIGN_OR_RETURN(bool locked, presence_.LockLoadRebuild(absl::Seconds(30)));
  if (!locked) return false;  // another replica is rebuilding them
  // Claims wait until the marker is back, so between the two reads only releases (a ticket
  // solved, an offer answered: stored first, released after) and hand assignments (added
  // as they arrive) change what agents hold. What left between the reads goes; what came
  // stays.
  SUNDESK_ASSIGN_OR_RETURN(std::vector<Holding> first, offers_.Holdings());
  SUNDESK_RETURN_IF_ERROR(presence_.AddHoldings(first));
  SUNDESK_ASSIGN_OR_RETURN(std::vector<Holding> second, offers_.Holdings());
  std::vector<Holding> a = first;
  std::vector<Holding> b = second;
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  std::vector<Holding> gone;
  std::set_difference(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(gone));
  std::vector<Holding> came;
  std::set_difference(b.begin(), b.end(), a.begin(), a.end(), std::back_inserter(came));
  SUNDESK_RETURN_IF_ERROR(presence_.RemoveHoldings(gone));
  SUNDESK_RETURN_IF_ERROR(presence_.AddHoldings(came));
  SUNDESK_RETURN_IF_ERROR(presence_.MarkLoadsReady());
  log::Warn("agents' loads rebuilt from routing's records (Redis had lost them)",
            {{"holdings", absl::StrCat(second.size())}});
  return true;
}

absl::Status OfferService::AnswerDue(const DueOffer& due) {
  const absl::Time now = clock_.Now();
  bool answered_now = false;
  SUNDESK_ASSIGN_OR_RETURN(
      std::optional<Offer> after,
      offers_.Update(due.offer.offer_id, now, /*skip_locked=*/true,
                     [&](const Offer& o) -> absl::StatusOr<OfferAnswer> {
                       answered_now = false;
                       if (o.state != OfferState::kOpen) return OfferAnswer{.state = o.state};
                       if (!due.ticket_waits) {
                         answered_now = true;
                         return OfferAnswer{.state = OfferState::kWithdrawn,
                                            .withdraw_reason = WithdrawReason::kTicketChanged};
                       }
                       if (o.expire_time > now) return OfferAnswer{.state = o.state};
                       answered_now = true;
                       return OfferAnswer{.state = OfferState::kExpired};
                     }));
  // Skipped (an accept in progress holds it) or answered meanwhile: nothing more to do.
  if (!after.has_value() || !answered_now) return absl::OkStatus();
  // A ticket that went to this very agent some other way keeps the agent's claim.
  if (due.ticket_waits || due.ticket_assignee != after->agent_id) ReleaseClaim(*after);
  if (observer_ != nullptr) {
    observer_->Offer(after->state == OfferState::kExpired ? "expired" : "withdrawn");
  }
  Changed(after->agent_id);
  return absl::OkStatus();
}

absl::StatusOr<Offer> OfferService::Lookup(absl::string_view agent_id, absl::string_view offer_id) {
  if (offer_id.empty()) return absl::InvalidArgumentError("offer_id: must be set");
  if (!IsUuid(offer_id)) return OfferNotFound(offer_id);
  absl::StatusOr<Offer> offer = offers_.Get(offer_id);
  if (absl::IsNotFound(offer.status())) return OfferNotFound(offer_id);
  SUNDESK_RETURN_IF_ERROR(offer.status());
  if (offer->agent_id != agent_id) return OfferNotFound(offer_id);  // another agent's
  return offer;
}

absl::StatusOr<Offer> OfferService::Accept(absl::string_view agent_id, absl::string_view offer_id) {
  SUNDESK_RETURN_IF_ERROR(Lookup(agent_id, offer_id).status());
  const absl::Time now = clock_.Now();
  bool ticket_gone = false;
  bool accepted_now = false;
  std::string taken_by;  // the ticket's assignee when it is someone else
  SUNDESK_ASSIGN_OR_RETURN(
      std::optional<Offer> after,
      offers_.Update(offer_id, now, /*skip_locked=*/false,
                     [&](const Offer& o) -> absl::StatusOr<OfferAnswer> {
                       ticket_gone = accepted_now = false;  // a retried transaction runs again
                       taken_by.clear();
                       if (o.state == OfferState::kAccepted) return OfferAnswer{.state = o.state};
                       if (o.state != OfferState::kOpen) return NotOpen(o);
                       if (o.expire_time <= now) {
                         return absl::FailedPreconditionError(
                             absl::StrCat("offer '", o.offer_id, "' expired"));
                       }
                       absl::StatusOr<TicketAssignment> assigned =
                           assigner_.Assign(o.ticket_id, o.agent_id, o.offer_id, o.stage);
                       if (absl::IsFailedPrecondition(assigned.status()) ||
                           absl::IsNotFound(assigned.status())) {
                         ticket_gone = true;
                         return OfferAnswer{.state = OfferState::kWithdrawn,
                                            .withdraw_reason = WithdrawReason::kTicketChanged};
                       }
                       SUNDESK_RETURN_IF_ERROR(assigned.status());
                       if (assigned->assignee_id != o.agent_id) {
                         // Assigned to someone else since the offer was made (by hand, say): the
                         // accept does not take it over.
                         ticket_gone = true;
                         taken_by = assigned->assignee_id;
                         return OfferAnswer{.state = OfferState::kWithdrawn,
                                            .withdraw_reason = WithdrawReason::kTicketChanged};
                       }
                       accepted_now = true;
                       return OfferAnswer{.state = OfferState::kAccepted,
                                          .assigned_version = assigned->version};
                     }));
  if (!after.has_value()) return absl::InternalError("offer update skipped while waiting");
  if (ticket_gone) {
    if (!taken_by.empty()) {
      TakenBy(taken_by, after->agent_id, after->ticket_id);
    } else {
      ReleaseClaim(*after);
    }
    if (observer_ != nullptr) observer_->Offer("withdrawn");
    Changed(after->agent_id);
    return absl::FailedPreconditionError(
        absl::StrCat("offer '", after->offer_id, "' is no longer open: its ticket ",
                     taken_by.empty() ? "cannot be assigned any more"
                                      : "was assigned to another agent meanwhile"));
  }
  if (accepted_now) {
    if (observer_ != nullptr) {
      observer_->Offer("accepted");
      observer_->Waited(now - after->queued_time);
    }
    Changed(after->agent_id);
  }
  return *after;
}

absl::StatusOr<Offer> OfferService::Reject(absl::string_view agent_id, absl::string_view offer_id,
                                           absl::string_view reason) {
  if (Utf8Chars(reason) > kMaxReasonChars) {
    return absl::InvalidArgumentError("reason: at most 500 characters");
  }
  SUNDESK_RETURN_IF_ERROR(Lookup(agent_id, offer_id).status());
  bool rejected_now = false;
  SUNDESK_ASSIGN_OR_RETURN(std::optional<Offer> after,
                           offers_.Update(offer_id, clock_.Now(), /*skip_locked=*/false,
                                          [&](const Offer& o) -> absl::StatusOr<OfferAnswer> {
                                            rejected_now = false;
                                            if (o.state == OfferState::kRejected)
                                              return OfferAnswer{.state = o.state};
                                            if (o.state != OfferState::kOpen) return NotOpen(o);
                                            rejected_now = true;
                                            return OfferAnswer{.state = OfferState::kRejected,
                                                               .reason = std::string(reason)};
                                          }));
  if (!after.has_value()) return absl::InternalError("offer update skipped while waiting");
  if (rejected_now) {
    ReleaseClaim(*after);
    if (observer_ != nullptr) observer_->Offer("rejected");
    Changed(after->agent_id);
    if (requeued_) requeued_();
  }
  return *after;
}

absl::StatusOr<bool> OfferService::WithdrawForAgent(const Offer& offer) {
  bool withdrawn = false;
  SUNDESK_ASSIGN_OR_RETURN(
      std::optional<Offer> after,
      offers_.Update(offer.offer_id, clock_.Now(), /*skip_locked=*/false,
                     [&](const Offer& o) -> absl::StatusOr<OfferAnswer> {
                       withdrawn = false;
                       if (o.state != OfferState::kOpen) return OfferAnswer{.state = o.state};
                       withdrawn = true;
                       return OfferAnswer{.state = OfferState::kWithdrawn,
                                          .withdraw_reason = WithdrawReason::kAgentUnavailable};
                     }));
  if (!after.has_value() || !withdrawn) return false;
  ReleaseClaim(*after);
  if (observer_ != nullptr) observer_->Offer("withdrawn");
  return true;
}

absl::Status OfferService::WithdrawAgentOffers(absl::string_view agent_id) {
  SUNDESK_ASSIGN_OR_RETURN(std::vector<Offer> open, offers_.AgentOffers(agent_id, {}));
  bool withdrawn = false;
  for (const Offer& offer : open) {
    if (offer.state != OfferState::kOpen) continue;
    SUNDESK_ASSIGN_OR_RETURN(bool now, WithdrawForAgent(offer));
    withdrawn = withdrawn || now;
  }
  Changed(std::string(agent_id));
  if (withdrawn && requeued_) requeued_();
  return absl::OkStatus();
}

absl::Status OfferService::WithdrawOffShift() {
  const absl::Time now = clock_.Now();
  SUNDESK_ASSIGN_OR_RETURN(std::vector<Offer> open, offers_.OpenOffers(1000));
  std::vector<std::string> agents;
  for (const Offer& offer : open) agents.push_back(offer.agent_id);
  // From the router's copy of the directory: no read per agent and pass.
  SUNDESK_ASSIGN_OR_RETURN(std::set<std::string> in_shift, router_.InShift(agents, now));
  for (const Offer& offer : open) {
    if (in_shift.count(offer.agent_id) > 0) continue;
    SUNDESK_ASSIGN_OR_RETURN(bool withdrawn, WithdrawForAgent(offer));
    if (withdrawn) Changed(offer.agent_id);
  }
  return absl::OkStatus();
}

void OfferService::ReleaseClaim(const Offer& offer) {
  // Redis is soft state: a failed release only keeps the agent's load one too high until
  // the ticket's next event or a reconciliation; the offer's outcome stands either way.
  if (absl::Status st = presence_.Release(offer.agent_id, offer.ticket_id).status(); !st.ok()) {
    log::Warn("claim not released", {{"offer_id", offer.offer_id}, {"error", st.ToString()}});
  }
}

void OfferService::TakenBy(const std::string& assignee, const std::string& claimant,
                           const std::string& ticket_id) {
  // The assignee first: the ticket's holder becomes it, so the claimant's release below
  // leaves the holder alone.
  if (absl::Status st = presence_.AddHoldings({{assignee, ticket_id}}); !st.ok()) {
    log::Warn("load of an assignment made elsewhere not counted",
              {{"ticket_id", ticket_id}, {"error", st.ToString()}});
  }
  if (claimant.empty() || claimant == assignee) return;
  if (absl::Status st = presence_.Release(claimant, ticket_id).status(); !st.ok()) {
    log::Warn("claim not released", {{"ticket_id", ticket_id}, {"error", st.ToString()}});
  }
}

void OfferService::Changed(const std::string& agent_id) {
  if (listener_ != nullptr) listener_->OffersChanged(agent_id);
}

}  // namespace sundesk::routing
