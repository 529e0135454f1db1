#include "services/notification/store/pg_delivery_store.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "libs/core/log.h"
#include "libs/core/status.h"
#include "libs/kafka/outbox.h"
#include "libs/pg/transaction.h"
#include "services/notification/domain/subscription.h"
#include "services/notification/store/schema.h"

namespace sundesk::notification {
namespace {

constexpr char kDeliveryColumns[] =
    "d.delivery_id, d.subscription_id, d.tenant_id, d.event_id, d.event_type, d.state, "
    "d.attempts, d.last_error, d.last_http_status, d.create_time, d.last_attempt_time, "
    "d.next_attempt_time, d.deliver_time";

absl::StatusOr<std::optional<absl::Time>> OptionalTime(const pg::Result& r, int row,
                                                       absl::string_view column) {
  if (r.IsNull(row, column)) return std::nullopt;
  SUNDESK_ASSIGN_OR_RETURN(absl::Time t, r.Time(row, column));
  return t;
}

absl::StatusOr<Delivery> DeliveryFromRow(const pg::Result& r, int row) {
  Delivery d;
  d.delivery_id = std::string(r.Text(row, "delivery_id"));
  d.subscription_id = std::string(r.Text(row, "subscription_id"));
  d.tenant_id = std::string(r.Text(row, "tenant_id"));
  d.event_id = std::string(r.Text(row, "event_id"));
  d.event_type = std::string(r.Text(row, "event_type"));
  SUNDESK_ASSIGN_OR_RETURN(int64_t state, r.Int64(row, "state"));
  d.state = static_cast<DeliveryState>(state);
  SUNDESK_ASSIGN_OR_RETURN(int64_t attempts, r.Int64(row, "attempts"));
  d.attempts = static_cast<int>(attempts);
  d.last_error = std::string(r.Text(row, "last_error"));
  SUNDESK_ASSIGN_OR_RETURN(int64_t http, r.Int64(row, "last_http_status"));
  d.last_http_status = static_cast<int>(http);
  SUNDESK_ASSIGN_OR_RETURN(d.create_time, r.Time(row, "create_time"));
  SUNDESK_ASSIGN_OR_RETURN(d.last_attempt_time, OptionalTime(r, row, "last_attempt_time"));
  SUNDESK_ASSIGN_OR_RETURN(d.next_attempt_time, OptionalTime(r, row, "next_attempt_time"));
  SUNDESK_ASSIGN_OR_RETURN(d.deliver_time, OptionalTime(r, row, "deliver_time"));
  return d;
}

absl::Time Micros(absl::Time t) { return absl::FromUnixMicros(absl::ToUnixMicros(t)); }

// Plans the transaction's statements for their actual parameters and table sizes each
// time. A prepared statement's cached generic plan is made once, when the session first
// ran it: on a young database `deliveries` was then a few pages, so the claim and the
// outcome joined it by a sequential scan and a hash join, and kept doing so as it grew
// (no ANALYZE, so no re-plan): 20-40 ms per batch after a few minutes at 5,000/s, growing.
// Planning each batch's statements costs well under a millisecond per batch.
absl::Status PlanForActualSizes(pg::Connection& tx) {
  return tx.Execute("SET LOCAL plan_cache_mode = force_custom_plan").status();
}

// The channel, target and opened secret of `due`'s subscription from `row` of `r` (columns
// channel, target, webhook_secret, webhook_secret_key_id, webhook_secret_sealed). A secret
// that cannot be opened is left in `secret_error` (the attempt is then not made).
absl::Status TargetFromRow(const pg::Result& r, int row, const SecretBox* secrets,
                           DueDelivery& due) {
  SUNDESK_ASSIGN_OR_RETURN(int64_t channel, r.Int64(row, "channel"));
  due.channel = static_cast<ChannelKind>(channel);
  due.target = std::string(r.Text(row, "target"));
  if (r.IsNull(row, "webhook_secret_key_id")) {
    due.secret = std::string(r.Text(row, "webhook_secret"));
    return absl::OkStatus();
  }
  SealedSecret sealed{.key_id = std::string(r.Text(row, "webhook_secret_key_id"))};
  SUNDESK_ASSIGN_OR_RETURN(sealed.sealed, r.Bytea(row, "webhook_secret_sealed"));
  absl::StatusOr<std::string> secret =
      secrets != nullptr ? secrets->Open(sealed, due.delivery.subscription_id)
                         : absl::FailedPreconditionError(
                               absl::StrCat("webhook secret sealed with key \"", sealed.key_id,
                                            "\", but no --webhook-secret-keys are configured"));
  if (secret.ok()) {
    due.secret = *std::move(secret);
  } else {
    due.secret_error = std::string(secret.status().message());
  }
  return absl::OkStatus();
}

}  // namespace

kafka::EventRecord DeadLetterRecord(const events::v1::Event& event, const Delivery& delivery,
                                    int attempts, const AttemptResult& result) {
  kafka::EventRecord record = kafka::ToRecord(kDeadLetterTopic, event);
  record.headers.push_back({"sundesk_delivery_id", delivery.delivery_id});
  record.headers.push_back({"sundesk_subscription_id", delivery.subscription_id});
  record.headers.push_back({"sundesk_attempts", absl::StrCat(attempts)});
  record.headers.push_back({"sundesk_last_http_status", absl::StrCat(result.http_status)});
  record.headers.push_back({"sundesk_error", result.error});
  return record;
}

absl::StatusOr<int> PgDeliveryStore::RecordEvent(const events::v1::Event& event, absl::Time now) {
  return RecordEvents(absl::MakeConstSpan(&event, 1), now);
}

absl::StatusOr<int> PgDeliveryStore::RecordEvents(absl::Span<const events::v1::Event> events,
                                                  absl::Time now, Handoff* handoff) {
  if (handoff != nullptr) handoff->taken.clear();
  if (events.empty()) return 0;
  now = Micros(now);
  // Each tenant's events in consumed order, tenants in one order (see the feed heads below).
  std::vector<const events::v1::Event*> ordered;
  ordered.reserve(events.size());
  for (const auto& e : events) ordered.push_back(&e);
  std::stable_sort(ordered.begin(), ordered.end(),
                   [](const auto* a, const auto* b) { return a->tenant_id() < b->tenant_id(); });
  std::vector<std::optional<absl::Time>> event_times;
  std::vector<std::string> payloads;
  event_times.reserve(ordered.size());
  payloads.reserve(ordered.size());
  // Array parameters in PostgreSQL's binary format (no array_in, no hex for the payloads).
  std::vector<absl::string_view> tenants, event_ids, types;
  tenants.reserve(ordered.size());
  event_ids.reserve(ordered.size());
  types.reserve(ordered.size());
  for (const events::v1::Event* e : ordered) {
    std::optional<absl::Time> event_time;
    if (e->has_time()) {
      event_time =
          absl::FromUnixSeconds(e->time().seconds()) + absl::Nanoseconds(e->time().nanos());
    }
    event_times.push_back(event_time);
    payloads.push_back(e->SerializeAsString());
    tenants.push_back(e->tenant_id());
    event_ids.push_back(e->event_id());
    types.push_back(e->type());
  }
  int created = 0;
  SUNDESK_RETURN_IF_ERROR(pg::WithTransaction(pool_, [&](pg::Connection& tx) -> absl::Status {
    created = 0;
    SUNDESK_RETURN_IF_ERROR(PlanForActualSizes(tx));
    // One statement (one round trip) for the feed and the matching subscriptions:
    // - the tenants' feed heads first, locked in tenant order by every transaction (so two
    //   replicas' batches never deadlock) until COMMIT, which keeps positions in commit
    //   order (see 0005_event_feed.sql). Each head moves past all of its tenant's events
    //   at once, and its events take the positions it moved past, in consumed order;
    // - the feed rows (an event already in the feed is not added again; its position is
    //   skipped);
    // - the subscriptions that existed when each event happened ("from then on", API.md),
    //   each with whether this statement made its event's feed row: those deliveries read
    //   the payload from it (0010_payload_once.sql). An event already in the feed
    //   (consumed again) may have its row deleted by the retention at any time, so its
    //   deliveries keep a copy.
    SUNDESK_ASSIGN_OR_RETURN(
        pg::Result subs,
        tx.Execute(
            "WITH u AS (SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], "
            "$4::timestamptz[], $5::bytea[]) WITH ORDINALITY AS u(t, event_id, type, at, "
            "payload, n)), "
            "heads AS (INSERT INTO notification.event_feed_heads AS h (tenant_id, position) "
            "SELECT t, count(*) FROM u GROUP BY t ORDER BY t "
            "ON CONFLICT (tenant_id) DO UPDATE SET position = h.position + EXCLUDED.position "
            "RETURNING tenant_id, position), "
            "fed AS (INSERT INTO notification.event_feed (tenant_id, position, event_id, "
            "event_type, payload, received_at) SELECT u.t, h.position - count(*) OVER w + "
            "row_number() OVER (w ORDER BY u.n), u.event_id, u.type, u.payload, "
            "$6::timestamptz FROM u JOIN heads h ON h.tenant_id = u.t "
            "WINDOW w AS (PARTITION BY u.t) "
            "ON CONFLICT (tenant_id, event_id) DO NOTHING RETURNING tenant_id, event_id) "
            "SELECT u.n, s.subscription_id, s.channel, s.target, s.webhook_secret, "
            "s.webhook_secret_key_id, s.webhook_secret_sealed, f.event_id IS NOT NULL "
            "FROM u JOIN notification.subscriptions s ON s.tenant_id = u.t AND "
            "s.delete_time IS NULL AND (s.event_types = '{}' OR u.type = "
            "ANY(s.event_types)) AND (u.at IS NULL OR s.create_time <= u.at) "
            "LEFT JOIN fed f ON f.tenant_id = u.t AND f.event_id = u.event_id "
            "ORDER BY u.n, s.subscription_id",
            {pg::Param::TextArray(tenants), pg::Param::TextArray(event_ids),
             pg::Param::TextArray(types), pg::Param::TimeArray(event_times),
             pg::Param::ByteaArray(payloads), now}));
    if (subs.rows() == 0) return absl::OkStatus();
    const size_t rows = static_cast<size_t>(subs.rows());
    std::vector<std::string> new_ids;
    std::vector<absl::string_view> sub_ids, d_tenants, d_event_ids, d_types, d_payloads;
    std::vector<std::optional<absl::Time>> d_times, leases;
    for (auto* v : {&sub_ids, &d_tenants, &d_event_ids, &d_types, &d_payloads}) v->reserve(rows);
    new_ids.reserve(rows);
    d_times.reserve(rows);
    leases.reserve(rows);
    const int to_hand_over = handoff != nullptr ? handoff->max : 0;
    for (int row = 0; row < subs.rows(); ++row) {
      SUNDESK_ASSIGN_OR_RETURN(int64_t n, subs.Int64(row, 0));
      const size_t i = static_cast<size_t>(n - 1);
      new_ids.push_back(ids_.NewId());
      // Leased at once to the dispatcher this is handed to; the rest wait for a claim.
      leases.push_back(row < to_hand_over ? std::optional<absl::Time>(now + handoff->lease)
                                          : std::nullopt);
      sub_ids.push_back(subs.Text(row, 1));
      d_tenants.push_back(ordered[i]->tenant_id());
      d_event_ids.push_back(ordered[i]->event_id());
      d_types.push_back(ordered[i]->type());
      d_times.push_back(event_times[i]);
      // Empty (stored as NULL): the payload is read from the feed row this made. A
      // serialized event is never empty (it has an event id).
      SUNDESK_ASSIGN_OR_RETURN(bool in_feed, subs.Bool(row, 7));
      d_payloads.push_back(in_feed ? absl::string_view() : absl::string_view(payloads[i]));
    }
    SUNDESK_ASSIGN_OR_RETURN(
        pg::Result inserted,
        // The new ones (not already there for this event) are queued, due at once.
        tx.Execute("WITH created AS (INSERT INTO notification.deliveries (delivery_id, "
                   "subscription_id, tenant_id, event_id, event_type, event_time, payload, "
                   "state, create_time, next_attempt_time) SELECT i, s, t, e, ty, at, "
                   "NULLIF(p, ''::bytea), 1, $8::timestamptz, $8::timestamptz FROM "
                   "unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], "
                   "$6::timestamptz[], $7::bytea[]) AS u(i, s, t, e, ty, at, p) "
                   "ON CONFLICT (subscription_id, event_id) DO NOTHING RETURNING delivery_id) "
                   "INSERT INTO notification.delivery_queue (delivery_id, next_attempt_time, "
                   "lease_until) SELECT c.delivery_id, $8::timestamptz, l.lease FROM created c "
                   "JOIN unnest($1::uuid[], $9::timestamptz[]) AS l(delivery_id, lease) "
                   "USING (delivery_id) RETURNING delivery_id::text, lease_until IS NOT NULL",
                   {pg::Param::TextArray(new_ids), pg::Param::TextArray(sub_ids),
                    pg::Param::TextArray(d_tenants), pg::Param::TextArray(d_event_ids),
                    pg::Param::TextArray(d_types), pg::Param::TimeArray(d_times),
                    pg::Param::ByteaArray(d_payloads), now, pg::Param::TimeArray(leases)}));
    created = inserted.rows();
    if (handoff == nullptr) return absl::OkStatus();
    absl::flat_hash_set<std::string> leased;
    for (int i = 0; i < inserted.rows(); ++i) {
      SUNDESK_ASSIGN_OR_RETURN(bool is_leased, inserted.Bool(i, 1));
      if (is_leased) leased.insert(std::string(inserted.Text(i, 0)));
    }
    for (int row = 0; row < subs.rows() && row < to_hand_over; ++row) {
      if (!leased.contains(absl::AsciiStrToLower(new_ids[row]))) continue;  // already there
      SUNDESK_ASSIGN_OR_RETURN(int64_t n, subs.Int64(row, 0));
      const events::v1::Event& e = *ordered[static_cast<size_t>(n - 1)];
      DueDelivery due;
      Delivery& d = due.delivery;
      d.delivery_id = new_ids[row];
      d.subscription_id = std::string(subs.Text(row, 1));
      d.tenant_id = absl::AsciiStrToLower(e.tenant_id());
      d.event_id = e.event_id();
      d.event_type = e.type();
      d.state = DeliveryState::kPending;
      d.create_time = now;
      d.next_attempt_time = now;
      due.payload = payloads[static_cast<size_t>(n - 1)];
      due.event_time = event_times[static_cast<size_t>(n - 1)];
      SUNDESK_RETURN_IF_ERROR(TargetFromRow(subs, row, secrets_, due));
      handoff->taken.push_back(std::move(due));
    }
    return absl::OkStatus();
  }));
  return created;
}

absl::StatusOr<std::vector<DueDelivery>> PgDeliveryStore::ClaimDue(absl::Time now, int limit,
                                                                   absl::Duration lease) {
  std::vector<DueDelivery> out;
  SUNDESK_RETURN_IF_ERROR(pg::WithTransaction(pool_, [&](pg::Connection& tx) -> absl::Status {
    out.clear();
    SUNDESK_RETURN_IF_ERROR(PlanForActualSizes(tx));
    SUNDESK_ASSIGN_OR_RETURN(
        pg::Result r,
        // Only queue rows are locked and changed: the lease moves a row's key in
        // delivery_queue_due past `now`, so later claims do not walk past it.
        tx.Execute(absl::StrCat("WITH leased AS (UPDATE notification.delivery_queue "
                                "SET lease_until = $3 WHERE delivery_id = ANY(ARRAY("
                                "SELECT delivery_id FROM notification.delivery_queue "
                                "WHERE GREATEST(next_attempt_time, lease_until) <= $1 "
                                "ORDER BY GREATEST(next_attempt_time, lease_until) LIMIT $2 "
                                "FOR UPDATE SKIP LOCKED)) RETURNING delivery_id) "
                                "SELECT ",
                                kDeliveryColumns,
                                ", COALESCE(d.payload, f.payload) AS payload, d.event_time, "
                                "s.channel, s.target, s.webhook_secret, "
                                "s.webhook_secret_key_id, s.webhook_secret_sealed FROM leased "
                                "JOIN notification.deliveries d USING (delivery_id) "
                                "JOIN notification.subscriptions s "
                                "ON s.subscription_id = d.subscription_id "
                                // The payload is stored once, in the event's feed row.
                                "LEFT JOIN notification.event_feed f "
                                "ON f.tenant_id = d.tenant_id AND f.event_id = d.event_id"),
                   {now, limit, now + lease}));
    for (int i = 0; i < r.rows(); ++i) {
      DueDelivery due;
      SUNDESK_ASSIGN_OR_RETURN(due.delivery, DeliveryFromRow(r, i));
      // Neither copy (cannot happen, see 0010_payload_once.sql): an empty payload, which
      // the dispatcher fails as unreadable.
      if (!r.IsNull(i, "payload")) {
        SUNDESK_ASSIGN_OR_RETURN(due.payload, r.Bytea(i, "payload"));
      }
      SUNDESK_ASSIGN_OR_RETURN(due.event_time, OptionalTime(r, i, "event_time"));
      SUNDESK_RETURN_IF_ERROR(TargetFromRow(r, i, secrets_, due));
      out.push_back(std::move(due));
    }
    return absl::OkStatus();
  }));
  return out;
}

absl::Status PgDeliveryStore::RecordAttempt(const DueDelivery& due, const AttemptResult& result,
                                            const AttemptDecision& decision, absl::Time now) {
  const AttemptOutcome outcome{.due = &due, .result = result, .decision = decision};
  return RecordAttempts(absl::MakeConstSpan(&outcome, 1), now);
}

absl::Status PgDeliveryStore::RecordAttempts(absl::Span<const AttemptOutcome> outcomes,
                                             absl::Time now) {
  if (outcomes.empty()) return absl::OkStatus();
  now = Micros(now);
  // The common case, delivered (without an error to keep), in a narrow statement: three
  // arrays instead of nine, the queue row deleted and `deliveries` updated (HOT). The rest
  // (retries, skips, dead ones) in the general statement below, in the same transaction.
  // Array parameters in PostgreSQL's binary format.
  std::vector<absl::string_view> delivered_ids;
  std::vector<int32_t> delivered_attempts, delivered_http;
  std::vector<absl::string_view> ids, errors, finished;
  std::vector<int32_t> states, attempts, http;
  std::vector<std::optional<absl::Time>> attempted, next, delivered;
  std::vector<bool> counted;
  delivered_ids.reserve(outcomes.size());
  delivered_attempts.reserve(outcomes.size());
  delivered_http.reserve(outcomes.size());
  for (const AttemptOutcome& o : outcomes) {
    if (o.decision.state == DeliveryState::kDelivered && o.decision.counted &&
        o.result.error.empty()) {
      delivered_ids.push_back(o.due->delivery.delivery_id);
      delivered_attempts.push_back(o.decision.attempts);
      delivered_http.push_back(o.result.http_status);
      continue;
    }
    ids.push_back(o.due->delivery.delivery_id);
    if (o.decision.state == DeliveryState::kDelivered || o.decision.state == DeliveryState::kDead) {
      finished.push_back(o.due->delivery.delivery_id);
    }
    states.push_back(static_cast<int32_t>(o.decision.state));
    attempts.push_back(o.decision.attempts);
    errors.push_back(o.result.error);
    http.push_back(o.result.http_status);
    attempted.push_back(o.decision.counted ? std::optional<absl::Time>(now) : std::nullopt);
    counted.push_back(o.decision.counted);
    next.push_back(o.decision.next_attempt_time
                       ? std::optional<absl::Time>(Micros(*o.decision.next_attempt_time))
                       : std::nullopt);
    delivered.push_back(o.decision.state == DeliveryState::kDelivered
                            ? std::optional<absl::Time>(now)
                            : std::nullopt);
  }
  return pg::WithTransaction(pool_, [&](pg::Connection& tx) -> absl::Status {
    SUNDESK_RETURN_IF_ERROR(PlanForActualSizes(tx));
    if (!delivered_ids.empty()) {
      SUNDESK_RETURN_IF_ERROR(
          tx.Execute(
                "WITH finished AS (DELETE FROM notification.delivery_queue "
                "WHERE delivery_id = ANY($1::uuid[])) "
                "UPDATE notification.deliveries d SET state = 3, attempts = u.attempts, "
                "last_error = '', last_http_status = u.http, last_attempt_time = $4, "
                "next_attempt_time = NULL, deliver_time = $4 FROM unnest($1::uuid[], "
                "$2::integer[], $3::integer[]) AS u(delivery_id, attempts, http) "
                "WHERE d.delivery_id = u.delivery_id",
                {pg::Param::TextArray(delivered_ids), pg::Param::Int32Array(delivered_attempts),
                 pg::Param::Int32Array(delivered_http), now})
              .status());
    }
    if (ids.empty()) return absl::OkStatus();
    SUNDESK_ASSIGN_OR_RETURN(
        pg::Result r,
        // A delivery still to be attempted keeps its queue row, due again at its next
        // attempt; a final one leaves the queue. `deliveries` changes in columns no index
        // holds (a HOT update).
        tx.Execute("WITH u AS (SELECT * FROM unnest($1::uuid[], $2::smallint[], $3::integer[], "
                   "$4::text[], $5::integer[], $6::timestamptz[], $7::boolean[], "
                   "$8::timestamptz[], $9::timestamptz[]) AS u(delivery_id, state, attempts, "
                   "error, http, attempted, counted, next, delivered)), "
                   "requeued AS (UPDATE notification.delivery_queue q SET next_attempt_time = "
                   "COALESCE(u.next, $10::timestamptz), lease_until = NULL FROM u "
                   "WHERE q.delivery_id = u.delivery_id AND u.state IN (1, 2)), "
                   "finished AS (DELETE FROM notification.delivery_queue "
                   "WHERE delivery_id = ANY($11::uuid[])) "
                   "UPDATE notification.deliveries d SET state = u.state, attempts = u.attempts, "
                   "last_error = CASE WHEN u.counted THEN u.error ELSE d.last_error END, "
                   "last_http_status = CASE WHEN u.counted THEN u.http ELSE d.last_http_status "
                   "END, last_attempt_time = COALESCE(u.attempted, d.last_attempt_time), "
                   "next_attempt_time = u.next, deliver_time = u.delivered FROM u "
                   "WHERE d.delivery_id = u.delivery_id RETURNING d.delivery_id::text",
                   {pg::Param::TextArray(ids), pg::Param::Int32Array(states),
                    pg::Param::Int32Array(attempts), pg::Param::TextArray(errors),
                    pg::Param::Int32Array(http), pg::Param::TimeArray(attempted),
                    pg::Param::BoolArray(counted), pg::Param::TimeArray(next),
                    pg::Param::TimeArray(delivered), now, pg::Param::TextArray(finished)}));
    // Dead letters of the deliveries that were still there (not deleted meanwhile).
    absl::flat_hash_set<std::string> updated;
    for (int i = 0; i < r.rows(); ++i) updated.insert(std::string(r.Text(i, 0)));
    for (const AttemptOutcome& o : outcomes) {
      if (!o.decision.dead_lettered ||
          !updated.contains(absl::AsciiStrToLower(o.due->delivery.delivery_id))) {
        continue;
      }
      events::v1::Event event;
      if (!event.ParseFromString(o.due->payload)) {
        return absl::DataLossError(absl::StrCat("delivery ", o.due->delivery.delivery_id,
                                                ": stored event does not parse"));
      }
      SUNDESK_RETURN_IF_ERROR(kafka::InsertOutboxRecord(
          tx, kSchema, DeadLetterRecord(event, o.due->delivery, o.decision.attempts, o.result)));
    }
    return absl::OkStatus();
  });
}

absl::StatusOr<std::vector<Delivery>> PgDeliveryStore::ListDeliveries(
    const ListDeliveriesQuery& q) {
  SUNDESK_ASSIGN_OR_RETURN(pg::Lease conn, pool_.Acquire());
  SUNDESK_ASSIGN_OR_RETURN(
      pg::Result r,
      conn->Execute(absl::StrCat("SELECT ", kDeliveryColumns,
                                 " FROM notification.deliveries d WHERE d.tenant_id = $1 "
                                 "AND ($2::uuid IS NULL OR d.subscription_id = $2::uuid) "
                                 "AND ($3::smallint = 0 OR d.state = $3::smallint) "
                                 "AND ($4::uuid IS NULL OR d.delivery_id < $4::uuid) "
                                 "ORDER BY d.delivery_id DESC LIMIT $5"),
                    {q.tenant_id,
                     q.subscription_id.empty() ? pg::Param::Null() : pg::Param(q.subscription_id),
                     static_cast<int>(q.state),
                     q.before_id.empty() ? pg::Param::Null() : pg::Param(q.before_id), q.limit}));
  std::vector<Delivery> out;
  for (int i = 0; i < r.rows(); ++i) {
    SUNDESK_ASSIGN_OR_RETURN(Delivery d, DeliveryFromRow(r, i));
    out.push_back(std::move(d));
  }
  return out;
}

absl::StatusOr<std::optional<Delivery>> PgDeliveryStore::GetDelivery(
    const std::string& delivery_id) {
  SUNDESK_ASSIGN_OR_RETURN(pg::Lease conn, pool_.Acquire());
  SUNDESK_ASSIGN_OR_RETURN(
      pg::Result r,
      conn->Execute(absl::StrCat("SELECT ", kDeliveryColumns,
                                 " FROM notification.deliveries d WHERE d.delivery_id = $1"),
                    {delivery_id}));
  if (r.rows() == 0) return std::nullopt;
  SUNDESK_ASSIGN_OR_RETURN(Delivery d, DeliveryFromRow(r, 0));
  return d;
}

absl::StatusOr<std::optional<Delivery>> PgDeliveryStore::Redeliver(const std::string& delivery_id,
                                                                   absl::Time now) {
  SUNDESK_ASSIGN_OR_RETURN(pg::Lease conn, pool_.Acquire());
  SUNDESK_ASSIGN_OR_RETURN(
      pg::Result r,
      conn->Execute(absl::StrCat("WITH again AS (UPDATE notification.deliveries d "
                                 "SET state = 1, attempts = 0, next_attempt_time = $2 "
                                 "FROM notification.subscriptions s "
                                 "WHERE d.delivery_id = $1 AND d.state = 4 AND "
                                 "s.subscription_id = d.subscription_id AND "
                                 "s.delete_time IS NULL RETURNING ",
                                 kDeliveryColumns,
                                 "), queued AS (INSERT INTO notification.delivery_queue "
                                 "(delivery_id, next_attempt_time) SELECT delivery_id, $2 "
                                 "FROM again ON CONFLICT (delivery_id) DO NOTHING) "
                                 "SELECT * FROM again"),
                    {delivery_id, Micros(now)}));
  if (r.rows() == 0) return std::nullopt;
  SUNDESK_ASSIGN_OR_RETURN(Delivery d, DeliveryFromRow(r, 0));
  return d;
}

}  // namespace sundesk::notification
