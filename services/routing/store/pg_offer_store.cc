#include "services/routing/store/pg_offer_store.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "libs/core/status.h"
#include "libs/pg/transaction.h"
#include "services/routing/store/pg_routing_policy_store.h"
#include "services/routing/store/pg_ticket_rows.h"
#include "services/routing/store/routing_events.h"

namespace sundesk::routing {
namespace {

constexpr absl::string_view kOfferColumns =
    "o.offer_id::text AS offer_id, o.ticket_id::text AS ticket_id, o.tenant_id::text AS "
    "tenant_id, o.agent_id, o.subject, o.language, o.priority, o.guidelines, o.stage, "
    "o.sla_deadline, o.queued_time, o.create_time, o.expire_time, o.state, o.withdraw_reason, "
    "o.reason";

// Routing order, as ListQueue shows it.
constexpr absl::string_view kOrderKey =
    "COALESCE(s.deadline, 'infinity'::timestamptz), -t.priority, t.queued_time, t.ticket_id";

absl::StatusOr<Offer> OfferFromRow(const pg::Result& r, int row) {
  Offer o;
  o.offer_id = std::string(r.Text(row, "offer_id"));
  o.ticket_id = std::string(r.Text(row, "ticket_id"));
  o.tenant_id = std::string(r.Text(row, "tenant_id"));
  o.agent_id = std::string(r.Text(row, "agent_id"));
  o.subject = std::string(r.Text(row, "subject"));
  o.language = std::string(r.Text(row, "language"));
  SUNDESK_ASSIGN_OR_RETURN(int64_t priority, r.Int64(row, "priority"));
  o.priority = static_cast<int>(priority);
  o.guidelines = std::string(r.Text(row, "guidelines"));
  SUNDESK_ASSIGN_OR_RETURN(int64_t stage, r.Int64(row, "stage"));
  o.stage = static_cast<int>(stage);
  if (!r.IsNull(row, "sla_deadline")) {
    SUNDESK_ASSIGN_OR_RETURN(absl::Time deadline, r.Time(row, "sla_deadline"));
    o.sla_deadline = deadline;
  }
  SUNDESK_ASSIGN_OR_RETURN(o.queued_time, r.Time(row, "queued_time"));
  SUNDESK_ASSIGN_OR_RETURN(o.create_time, r.Time(row, "create_time"));
  SUNDESK_ASSIGN_OR_RETURN(o.expire_time, r.Time(row, "expire_time"));
  SUNDESK_ASSIGN_OR_RETURN(int64_t state, r.Int64(row, "state"));
  o.state = static_cast<OfferState>(state);
  SUNDESK_ASSIGN_OR_RETURN(int64_t withdraw_reason, r.Int64(row, "withdraw_reason"));
  o.withdraw_reason = static_cast<WithdrawReason>(withdraw_reason);
  o.reason = std::string(r.Text(row, "reason"));
  return o;
}

absl::StatusOr<QueueEntry> EntryFromRow(const pg::Result& r, int row) {
  QueueEntry e;
  SUNDESK_ASSIGN_OR_RETURN(e.ticket, TicketCopyFromRow(r, row));
  SUNDESK_ASSIGN_OR_RETURN(e.queued_time, r.Time(row, "queued_time"));
  if (!r.IsNull(row, "sla_deadline")) {
    SUNDESK_ASSIGN_OR_RETURN(absl::Time deadline, r.Time(row, "sla_deadline"));
    e.sla_deadline = deadline;
  }
  return e;
}

// The queue's copy takes the assignee the ticket service now has (accept, auto-assign),
// unless an event already brought a newer version; the ticket leaves the queue.
absl::Status ApplyAssignment(pg::Connection& tx, absl::string_view ticket_id,
                             absl::string_view agent_id, int64_t version) {
  return tx
      .Execute(
          "UPDATE routing.tickets SET assignee_id = $2, queued_time = NULL, version = $3 "
          "WHERE ticket_id = $1::uuid AND version < $3",
          {ticket_id, agent_id, version})
      .status();
}

}  // namespace

absl::StatusOr<std::vector<QueueEntry>> PgOfferStore::Routable(
    const std::optional<QueuePosition>& after, int limit) {
  std::vector<pg::Param> params;
  auto param = [&](pg::Param p) {
    params.push_back(std::move(p));
    return absl::StrCat("$", params.size());
  };
  // `offered`: the ticket has an open offer (kept by a trigger on offers, migration 0007);
  // the condition is tickets_routable's, so only the tickets without one are read.
  std::string where = "t.queued_time IS NOT NULL AND NOT t.offered";
  if (after.has_value()) {
    absl::StrAppend(
        &where, " AND (", kOrderKey, ") > (",
        param(after->sla_deadline ? pg::Param(*after->sla_deadline) : pg::Param("infinity")),
        "::timestamptz, ", param(-after->priority), "::int, ", param(after->queued_time),
        "::timestamptz, ", param(after->ticket_id), "::uuid)");
  }
  const std::string sql =
      absl::StrCat("SELECT ", kTicketColumns,
                   ", s.deadline AS sla_deadline FROM routing.tickets t "
                   "LEFT JOIN routing.ticket_sla_at_risk s ON s.ticket_id = t.ticket_id WHERE ",
                   where, " ORDER BY ", kOrderKey, " LIMIT ", param(limit));
  SUNDESK_ASSIGN_OR_RETURN(pg::Lease conn, pool_.Acquire());
  SUNDESK_ASSIGN_OR_RETURN(pg::Result r, conn->Execute(sql, params));
  std::vector<QueueEntry> entries;
  for (int row = 0; row < r.rows(); ++row) {
    SUNDESK_ASSIGN_OR_RETURN(QueueEntry e, EntryFromRow(r, row));
    entries.push_back(std::move(e));
  }
  return entries;
}

absl::StatusOr<bool> PgOfferStore::Route(absl::string_view ticket_id, Decide decide) {
  bool routed = false;
  SUNDESK_RETURN_IF_ERROR(pg::WithTransaction(pool_, [&](pg::Connection& tx) -> absl::Status {
    routed = false;
    // One round trip (a pipeline; the server runs the statements one after another): the
    // ticket's queue row locked, then the ticket's offers (the exclusions), the directory
    // revision and the tenant's policy. Each statement reads from a snapshot of its own,
    // taken when it starts, so the offers are read after the lock was granted, as they
    // were in a round trip of their own: an offer or a rejection committed just before is
    // seen (a subquery of the locking statement would read the statement's snapshot, taken
    // before the lock). The revision and the policy are the ones the decision reads first
    // thing; reading them here spares it two round trips on other connections.
    const std::vector<pg::Statement> reads = {
        {.sql = absl::StrCat("SELECT ", kTicketColumns,
                             ", s.deadline AS sla_deadline FROM routing.tickets t "
                             "LEFT JOIN routing.ticket_sla_at_risk s ON s.ticket_id = "
                             "t.ticket_id WHERE t.ticket_id = $1::uuid "
                             "FOR UPDATE OF t SKIP LOCKED"),
         .params = {pg::Param(ticket_id)}},
        {.sql = "SELECT agent_id, state FROM routing.offers WHERE ticket_id = $1::uuid",
         .params = {pg::Param(ticket_id)}},
        {.sql = "SELECT revision FROM routing.agent_directory_revision", .params = {}},
        {.sql = absl::StrCat("SELECT ", kRoutingPolicyColumns,
                             " FROM routing.routing_policies WHERE tenant_id = "
                             "(SELECT tenant_id FROM routing.tickets WHERE ticket_id = $1::uuid)"),
         .params = {pg::Param(ticket_id)}},
    };
    SUNDESK_ASSIGN_OR_RETURN(std::vector<pg::Result> read, tx.ExecuteAtomically(reads));
    if (read.size() != reads.size()) return absl::InternalError("pipeline answered short");
    const pg::Result& r = read[0];
    if (r.rows() == 0 || r.IsNull(0, "queued_time")) return absl::OkStatus();
    SUNDESK_ASSIGN_OR_RETURN(QueueEntry entry, EntryFromRow(r, 0));
    const pg::Result& offers = read[1];
    std::set<std::string> excluded;
    for (int row = 0; row < offers.rows(); ++row) {
      SUNDESK_ASSIGN_OR_RETURN(int64_t state, offers.Int64(row, "state"));
      if (state == static_cast<int>(OfferState::kOpen)) return absl::OkStatus();
      if (state == static_cast<int>(OfferState::kRejected) ||
          state == static_cast<int>(OfferState::kExpired)) {
        excluded.insert(std::string(offers.Text(row, "agent_id")));
      }
    }
    DecisionInputs inputs;
    if (read[2].rows() != 1) {
      return absl::InternalError("routing.agent_directory_revision: no row");
    }
    SUNDESK_ASSIGN_OR_RETURN(int64_t revision, read[2].Int64(0, "revision"));
    inputs.directory_revision = revision;
    if (read[3].rows() == 0) {
      inputs.policy.emplace(std::nullopt);
    } else {
      SUNDESK_ASSIGN_OR_RETURN(StoredRoutingPolicy policy,
                               RoutingPolicyFromRow(read[3], 0, entry.ticket.tenant_id));
      inputs.policy.emplace(std::move(policy));
    }
    SUNDESK_ASSIGN_OR_RETURN(RouteOutcome outcome, decide(entry, excluded, inputs));
    routed = true;
    if (!outcome.assigned_agent.empty()) {
      return ApplyAssignment(tx, ticket_id, outcome.assigned_agent, outcome.assigned_version);
    }
    if (!outcome.offer.has_value()) return absl::OkStatus();
    const Offer& o = *outcome.offer;
    events::v1::OfferMade made;
    OfferToProto(o, made.mutable_offer());
    SUNDESK_ASSIGN_OR_RETURN(pg::Statement event,
                             RoutingEventStatement(ids_, clock_,
                                                   {.source = std::string(kRoutingSource),
                                                    .tenant_id = o.tenant_id,
                                                    .subject = o.ticket_id,
                                                    .sequence = entry.ticket.version},
                                                   made, absl::StrCat("OfferMade:", o.offer_id)));
    // The offer and its OfferMade in one round trip; they commit with the transaction.
    const std::vector<pg::Statement> writes = {
        {.sql = "INSERT INTO routing.offers (offer_id, ticket_id, tenant_id, agent_id, "
                "subject, language, priority, guidelines, stage, sla_deadline, queued_time, "
                "create_time, expire_time, state) VALUES ($1::uuid, $2::uuid, $3::uuid, $4, "
                "$5, $6, $7, $8, $9, $10, $11, $12, $13, 1)",
         .params = {o.offer_id, o.ticket_id, o.tenant_id, o.agent_id, o.subject, o.language,
                    o.priority, o.guidelines, o.stage, o.sla_deadline, o.queued_time, o.create_time,
                    o.expire_time}},
        std::move(event),
    };
    return tx.ExecuteAtomically(writes).status();
  }));
  if (routed && notifier_ != nullptr) notifier_->Notify();
  return routed;
}

absl::StatusOr<Offer> PgOfferStore::Get(absl::string_view offer_id) {
  SUNDESK_ASSIGN_OR_RETURN(pg::Lease conn, pool_.Acquire());
  SUNDESK_ASSIGN_OR_RETURN(
      pg::Result r,
      conn->Execute(absl::StrCat("SELECT ", kOfferColumns,
                                 " FROM routing.offers o WHERE o.offer_id = $1::uuid"),
                    {offer_id}));
  if (r.rows() == 0) return absl::NotFoundError(absl::StrCat("offer '", offer_id, "' not found"));
  return OfferFromRow(r, 0);
}

absl::StatusOr<std::optional<Offer>> PgOfferStore::Update(absl::string_view offer_id, absl::Time at,
                                                          bool skip_locked, Answer answer) {
  std::optional<Offer> result;
  SUNDESK_RETURN_IF_ERROR(pg::WithTransaction(pool_, [&](pg::Connection& tx) -> absl::Status {
    result.reset();
    SUNDESK_ASSIGN_OR_RETURN(
        pg::Result r,
        tx.Execute(absl::StrCat("SELECT ", kOfferColumns,
                                ", COALESCE(t.version, 0) AS ticket_version FROM routing.offers o "
                                "LEFT JOIN routing.tickets t ON t.ticket_id = o.ticket_id "
                                "WHERE o.offer_id = $1::uuid FOR UPDATE OF o",
                                skip_locked ? " SKIP LOCKED" : ""),
                   {offer_id}));
    if (r.rows() == 0) {
      if (skip_locked) return absl::OkStatus();
      return absl::NotFoundError(absl::StrCat("offer '", offer_id, "' not found"));
    }
    SUNDESK_ASSIGN_OR_RETURN(Offer offer, OfferFromRow(r, 0));
    SUNDESK_ASSIGN_OR_RETURN(int64_t ticket_version, r.Int64(0, "ticket_version"));
    SUNDESK_ASSIGN_OR_RETURN(OfferAnswer a, answer(offer));
    if (a.state == offer.state) {
      result = std::move(offer);
      return absl::OkStatus();
    }
    SUNDESK_RETURN_IF_ERROR(
        tx.Execute("UPDATE routing.offers SET state = $2, withdraw_reason = $3, reason = $4, "
                   "answer_time = $5 WHERE offer_id = $1::uuid",
                   {offer_id, static_cast<int>(a.state), static_cast<int>(a.withdraw_reason),
                    a.reason, at})
            .status());
    offer.state = a.state;
    offer.withdraw_reason = a.withdraw_reason;
    offer.reason = a.reason;
    const kafka::EventAttributes attributes{.source = std::string(kRoutingSource),
                                            .tenant_id = offer.tenant_id,
                                            .subject = offer.ticket_id,
                                            .sequence = ticket_version};
    switch (a.state) {
      case OfferState::kAccepted: {
        if (a.assigned_version > 0) {
          SUNDESK_RETURN_IF_ERROR(
              ApplyAssignment(tx, offer.ticket_id, offer.agent_id, a.assigned_version));
        }
        events::v1::OfferAccepted e;
        e.set_offer_id(offer.offer_id);
        e.set_agent_id(offer.agent_id);
        e.set_stage(offer.stage);
        SUNDESK_RETURN_IF_ERROR(
            WriteRoutingEvent(tx, ids_, clock_,
                              {.source = attributes.source,
                               .tenant_id = attributes.tenant_id,
                               .subject = attributes.subject,
                               .sequence = std::max(ticket_version, a.assigned_version)},
                              e, absl::StrCat("OfferAccepted:", offer.offer_id)));
        break;
      }
      case OfferState::kRejected: {
        events::v1::OfferRejected e;
        e.set_offer_id(offer.offer_id);
        e.set_agent_id(offer.agent_id);
        e.set_stage(offer.stage);
        e.set_reason(offer.reason);
        SUNDESK_RETURN_IF_ERROR(WriteRoutingEvent(tx, ids_, clock_, attributes, e,
                                                  absl::StrCat("OfferRejected:", offer.offer_id)));
        break;
      }
      case OfferState::kExpired: {
        events::v1::OfferExpired e;
        e.set_offer_id(offer.offer_id);
        e.set_agent_id(offer.agent_id);
        e.set_stage(offer.stage);
        SUNDESK_RETURN_IF_ERROR(WriteRoutingEvent(tx, ids_, clock_, attributes, e,
                                                  absl::StrCat("OfferExpired:", offer.offer_id)));
        break;
      }
      case OfferState::kOpen:
      case OfferState::kWithdrawn:
        break;  // no event type announces a withdrawal
    }
    result = std::move(offer);
    return absl::OkStatus();
  }));
  if (notifier_ != nullptr) notifier_->Notify();
  return result;
}

absl::StatusOr<std::vector<DueOffer>> PgOfferStore::Due(absl::Time now, int limit) {
  SUNDESK_ASSIGN_OR_RETURN(pg::Lease conn, pool_.Acquire());
  SUNDESK_ASSIGN_OR_RETURN(
      pg::Result r,
      conn->Execute(
          absl::StrCat(
              "SELECT ", kOfferColumns,
              ", t.queued_time IS NOT NULL AS ticket_waits, "
              "COALESCE(t.assignee_id, '') AS ticket_assignee "
              // The two kinds of due offer, each read through its own partial index, drive
              // the query (an OR over the join scanned every open offer: 12 ms a poll with
              // 2,000 open): lapsed ones (offers_open_expiry), and those whose ticket left
              // the queue while they were open (tickets_offered_unqueued; `offered` says an
              // open offer exists, migration 0007). UNION: an offer may be both.
              "FROM ((SELECT offer_id FROM routing.offers WHERE state = 1 AND expire_time <= $1 "
              "ORDER BY expire_time LIMIT $2) UNION "
              "(SELECT u.offer_id FROM routing.tickets q JOIN routing.offers u "
              "ON u.ticket_id = q.ticket_id AND u.state = 1 "
              "WHERE q.offered AND q.queued_time IS NULL LIMIT $2)) d "
              "JOIN routing.offers o ON o.offer_id = d.offer_id "
              "LEFT JOIN routing.tickets t ON t.ticket_id = o.ticket_id WHERE o.state = 1 "
              "ORDER BY o.expire_time LIMIT $2"),
          {now, limit}));
  std::vector<DueOffer> due;
  for (int row = 0; row < r.rows(); ++row) {
    DueOffer d;
    SUNDESK_ASSIGN_OR_RETURN(d.offer, OfferFromRow(r, row));
    SUNDESK_ASSIGN_OR_RETURN(d.ticket_waits, r.Bool(row, "ticket_waits"));
    d.ticket_assignee = std::string(r.Text(row, "ticket_assignee"));
    due.push_back(std::move(d));
  }
  return due;
}

absl::StatusOr<std::vector<Offer>> PgOfferStore::OpenOffers(int limit) {
  SUNDESK_ASSIGN_OR_RETURN(pg::Lease conn, pool_.Acquire());
  SUNDESK_ASSIGN_OR_RETURN(pg::Result r,
                           conn->Execute(absl::StrCat("SELECT ", kOfferColumns,
                                                      " FROM routing.offers o WHERE o.state = 1 "
                                                      "ORDER BY o.expire_time LIMIT $1"),
                                         {limit}));
  std::vector<Offer> offers;
  for (int row = 0; row < r.rows(); ++row) {
    SUNDESK_ASSIGN_OR_RETURN(Offer o, OfferFromRow(r, row));
    offers.push_back(std::move(o));
  }
  return offers;
}

absl::StatusOr<std::vector<Offer>> PgOfferStore::AgentOffers(
    absl::string_view agent_id, const std::vector<std::string>& offer_ids) {
  SUNDESK_ASSIGN_OR_RETURN(pg::Lease conn, pool_.Acquire());
  SUNDESK_ASSIGN_OR_RETURN(
      pg::Result r, conn->Execute(absl::StrCat("SELECT ", kOfferColumns,
                                               " FROM routing.offers o WHERE o.agent_id = $1 AND "
                                               "(o.state = 1 OR o.offer_id = ANY($2::uuid[])) "
                                               "ORDER BY o.create_time, o.offer_id"),
                                  {agent_id, pg::Param::TextArray(offer_ids)}));
  std::vector<Offer> offers;
  for (int row = 0; row < r.rows(); ++row) {
    SUNDESK_ASSIGN_OR_RETURN(Offer o, OfferFromRow(r, row));
    offers.push_back(std::move(o));
  }
  return offers;
}

absl::StatusOr<std::vector<Holding>> PgOfferStore::Holdings() {
  // One statement, so both parts are read from the same snapshot.
  SUNDESK_ASSIGN_OR_RETURN(pg::Lease conn, pool_.Acquire());
  SUNDESK_ASSIGN_OR_RETURN(
      pg::Result r,
      conn->Execute(absl::StrCat(
          "SELECT agent_id, ticket_id::text AS ticket_id, 0 AS part FROM routing.offers "
          "WHERE state = 1 UNION ALL SELECT assignee_id, ticket_id::text, 1 FROM routing.tickets "
          "WHERE assignee_id <> '' AND status NOT IN (",
          kTicketStatusSolved, ", ", kTicketStatusClosed, ") ORDER BY part")));
  std::vector<Holding> holdings;
  holdings.reserve(r.rows());
  for (int row = 0; row < r.rows(); ++row) {
    holdings.push_back(
        {std::string(r.Text(row, "agent_id")), std::string(r.Text(row, "ticket_id"))});
  }
  return holdings;
}

}  // namespace sundesk::routing
