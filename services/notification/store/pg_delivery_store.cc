#include "services/notification/store/pg_delivery_store.h"

#include <algorithm>
#include <vector>

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
                                                  absl::Time now) {
  // Tenants' feed heads are locked in one order (tenant id) by every transaction, so two
  // replicas' batches never deadlock; each tenant's events keep their consumed order.
  std::vector<const events::v1::Event*> ordered;
  ordered.reserve(events.size());
  for (const auto& e : events) ordered.push_back(&e);
  std::stable_sort(ordered.begin(), ordered.end(),
                   [](const auto* a, const auto* b) { return a->tenant_id() < b->tenant_id(); });
  int created = 0;
  SUNDESK_RETURN_IF_ERROR(pg::WithTransaction(pool_, [&](pg::Connection& tx) -> absl::Status {
    created = 0;
    for (const events::v1::Event* e : ordered) {
      const events::v1::Event& event = *e;
      std::optional<absl::Time> event_time;
      if (event.has_time()) {
        event_time =
            absl::FromUnixSeconds(event.time().seconds()) + absl::Nanoseconds(event.time().nanos());
      }
      const std::string payload = event.SerializeAsString();
      // The tenant's feed first: its head row is locked until COMMIT, which keeps positions
      // in commit order (see 0005_event_feed.sql).
      SUNDESK_ASSIGN_OR_RETURN(
          pg::Result head,
          tx.Execute("INSERT INTO notification.event_feed_heads AS h (tenant_id, position) "
                     "VALUES ($1, 1) ON CONFLICT (tenant_id) DO UPDATE SET position = "
                     "h.position + 1 RETURNING position",
                     {event.tenant_id()}));
      SUNDESK_ASSIGN_OR_RETURN(int64_t position, head.Int64(0, 0));
      SUNDESK_RETURN_IF_ERROR(
          tx.Execute("INSERT INTO notification.event_feed (tenant_id, position, event_id, "
                     "event_type, payload, received_at) VALUES ($1, $2, $3, $4, $5, $6) "
                     "ON CONFLICT (tenant_id, event_id) DO NOTHING",
                     {event.tenant_id(), position, event.event_id(), event.type(),
                      pg::Param::Bytea(payload), Micros(now)})
              .status());
      // Subscriptions that existed when the event happened: "from then on" (API.md).
      SUNDESK_ASSIGN_OR_RETURN(
          pg::Result subs,
          tx.Execute("SELECT subscription_id FROM notification.subscriptions WHERE tenant_id = $1 "
                     "AND delete_time IS NULL AND (event_types = '{}' OR $2 = ANY(event_types)) "
                     "AND ($3::timestamptz IS NULL OR create_time <= $3::timestamptz)",
                     {event.tenant_id(), event.type(), event_time}));
      for (int i = 0; i < subs.rows(); ++i) {
        SUNDESK_ASSIGN_OR_RETURN(
            pg::Result r,
            tx.Execute("INSERT INTO notification.deliveries (delivery_id, subscription_id, "
                       "tenant_id, event_id, event_type, event_time, payload, state, create_time, "
                       "next_attempt_time) VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8, $8) "
                       "ON CONFLICT (subscription_id, event_id) DO NOTHING",
                       {ids_.NewId(), subs.Text(i, 0), event.tenant_id(), event.event_id(),
                        event.type(), event_time, pg::Param::Bytea(payload), Micros(now)}));
        created += static_cast<int>(r.affected_rows());
      }
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
    SUNDESK_ASSIGN_OR_RETURN(
        pg::Result r,
        tx.Execute(absl::StrCat("WITH due AS (SELECT delivery_id FROM notification.deliveries "
                                "WHERE state IN (1, 2) AND next_attempt_time <= $1 AND "
                                "(lease_until IS NULL OR lease_until <= $1) "
                                "ORDER BY next_attempt_time LIMIT $2 FOR UPDATE SKIP LOCKED) "
                                "UPDATE notification.deliveries d SET lease_until = $3 "
                                "FROM due, notification.subscriptions s "
                                "WHERE d.delivery_id = due.delivery_id AND "
                                "s.subscription_id = d.subscription_id RETURNING ",
                                kDeliveryColumns,
                                ", d.payload, d.event_time, s.channel, s.target, s.webhook_secret, "
                                "s.webhook_secret_key_id, s.webhook_secret_sealed"),
                   {now, limit, now + lease}));
    for (int i = 0; i < r.rows(); ++i) {
      DueDelivery due;
      SUNDESK_ASSIGN_OR_RETURN(due.delivery, DeliveryFromRow(r, i));
      SUNDESK_ASSIGN_OR_RETURN(due.payload, r.Bytea(i, "payload"));
      SUNDESK_ASSIGN_OR_RETURN(due.event_time, OptionalTime(r, i, "event_time"));
      SUNDESK_ASSIGN_OR_RETURN(int64_t channel, r.Int64(i, "channel"));
      due.channel = static_cast<ChannelKind>(channel);
      due.target = std::string(r.Text(i, "target"));
      if (r.IsNull(i, "webhook_secret_key_id")) {
        due.secret = std::string(r.Text(i, "webhook_secret"));
      } else {
        SealedSecret sealed{.key_id = std::string(r.Text(i, "webhook_secret_key_id"))};
        SUNDESK_ASSIGN_OR_RETURN(sealed.sealed, r.Bytea(i, "webhook_secret_sealed"));
        absl::StatusOr<std::string> secret =
            secrets_ != nullptr ? secrets_->Open(sealed, due.delivery.subscription_id)
                                : absl::FailedPreconditionError(absl::StrCat(
                                      "webhook secret sealed with key \"", sealed.key_id,
                                      "\", but no --webhook-secret-keys are configured"));
        if (secret.ok()) {
          due.secret = *std::move(secret);
        } else {
          due.secret_error = std::string(secret.status().message());
        }
      }
      out.push_back(std::move(due));
    }
    return absl::OkStatus();
  }));
  return out;
}

absl::Status PgDeliveryStore::RecordAttempt(const DueDelivery& due, const AttemptResult& result,
                                            const AttemptDecision& decision, absl::Time now) {
  now = Micros(now);
  return pg::WithTransaction(pool_, [&](pg::Connection& tx) -> absl::Status {
    std::optional<absl::Time> next;
    if (decision.next_attempt_time) next = Micros(*decision.next_attempt_time);
    std::optional<absl::Time> delivered;
    if (decision.state == DeliveryState::kDelivered) delivered = now;
    std::optional<absl::Time> attempted;
    if (decision.counted) attempted = now;
    SUNDESK_ASSIGN_OR_RETURN(
        pg::Result r,
        tx.Execute(
            "UPDATE notification.deliveries SET state = $2, attempts = $3, "
            "last_error = CASE WHEN $7 THEN $4 ELSE last_error END, "
            "last_http_status = CASE WHEN $7 THEN $5 ELSE last_http_status END, "
            "last_attempt_time = COALESCE($6, last_attempt_time), "
            "next_attempt_time = $8, deliver_time = $9, lease_until = NULL "
            "WHERE delivery_id = $1",
            {due.delivery.delivery_id, static_cast<int>(decision.state), decision.attempts,
             result.error, result.http_status, attempted, decision.counted, next, delivered}));
    if (r.affected_rows() == 0 || !decision.dead_lettered) return absl::OkStatus();
    events::v1::Event event;
    if (!event.ParseFromString(due.payload)) {
      return absl::DataLossError(
          absl::StrCat("delivery ", due.delivery.delivery_id, ": stored event does not parse"));
    }
    return kafka::InsertOutboxRecord(
        tx, kSchema, DeadLetterRecord(event, due.delivery, decision.attempts, result));
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
      conn->Execute(absl::StrCat("UPDATE notification.deliveries d SET state = 1, attempts = 0, "
                                 "next_attempt_time = $2, lease_until = NULL "
                                 "FROM notification.subscriptions s "
                                 "WHERE d.delivery_id = $1 AND d.state = 4 AND "
                                 "s.subscription_id = d.subscription_id AND "
                                 "s.delete_time IS NULL RETURNING ",
                                 kDeliveryColumns),
                    {delivery_id, Micros(now)}));
  if (r.rows() == 0) return std::nullopt;
  SUNDESK_ASSIGN_OR_RETURN(Delivery d, DeliveryFromRow(r, 0));
  return d;
}

}  // namespace sundesk::notification
