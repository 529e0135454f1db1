#pragma once

#include <optional>
#include <string>
#include <vector>

#include "libs/core/ids.h"
#include "libs/kafka/envelope.h"
#include "libs/pg/pool.h"
#include "services/notification/domain/delivery.h"
#include "services/notification/store/pg_subscription_store.h"
#include "services/notification/store/secret_box.h"
#include "sundesk/events/v1/events.pb.h"

namespace sundesk::notification {

inline constexpr char kDeadLetterTopic[] = "sundesk.notification.dlq.v1";

// A delivery claimed for an attempt, with what the attempt needs.
struct DueDelivery {
  Delivery delivery;
  ChannelKind channel = ChannelKind::kWebhook;
  std::string target;  // URL or address
  std::string secret;
  // Why `secret` could not be opened (a key that is not configured, a tampered value);
  // the attempt is then not made and the delivery fails for good with this error.
  std::string secret_error;
  std::string payload;  // the serialized Event
  std::optional<absl::Time> event_time;
};

// One attempt's outcome and what follows from it, for RecordAttempts.
struct AttemptOutcome {
  const DueDelivery* due = nullptr;
  AttemptResult result;
  AttemptDecision decision;
};

// Deliveries in PostgreSQL schema `notification`.
class PgDeliveryStore final : public DeliveryStore {
 public:
  // `secrets` opens sealed webhook secrets; without it only plain ones are usable.
  PgDeliveryStore(pg::Pool& pool, IdGenerator& ids, const SecretBox* secrets = nullptr)
      : pool_(pool), ids_(ids), secrets_(secrets) {}

  // One delivery per live subscription of the event's tenant that wants its type and
  // existed when it happened; (subscription, event id) already there adds nothing. Returns
  // how many were new. Durable when OK: the consumer commits the offset after.
  absl::StatusOr<int> RecordEvent(const events::v1::Event& event, absl::Time now);
  // The same for several events in one transaction (one commit for a consumer's batch),
  // with a fixed number of statements whatever the batch's size.
  //
  // With `handoff`, up to `handoff->max` of the new deliveries are stored already leased
  // until `now + handoff->lease` and returned in `handoff->taken`, ready to attempt: the
  // local dispatcher takes them without a claim. If it never records their outcome (a
  // crash), they are claimed again when the lease runs out, as claimed ones are.
  struct Handoff {
    int max = 0;
    absl::Duration lease = absl::Minutes(2);
    std::vector<DueDelivery> taken;
  };
  absl::StatusOr<int> RecordEvents(absl::Span<const events::v1::Event> events, absl::Time now,
                                   Handoff* handoff = nullptr);

  // Up to `limit` deliveries due at `now` (PENDING or RETRYING, not leased by another
  // dispatcher), leased to the caller until `now + lease`, oldest due first.
  absl::StatusOr<std::vector<DueDelivery>> ClaimDue(absl::Time now, int limit,
                                                    absl::Duration lease);

  // Stores an attempt's outcome; when the delivery is now DEAD, its event goes to the DLQ
  // through the outbox in the same transaction, with the error in Kafka headers. A
  // delivery deleted meanwhile (its subscription was) is left alone.
  absl::Status RecordAttempt(const DueDelivery& due, const AttemptResult& result,
                             const AttemptDecision& decision, absl::Time now);
  // The same for many attempts in one transaction: one UPDATE for all of them, plus the
  // DLQ outbox records of those now DEAD. All or nothing: on an error none is recorded
  // (their leases run out and they are attempted again).
  absl::Status RecordAttempts(absl::Span<const AttemptOutcome> outcomes, absl::Time now);

  absl::StatusOr<std::vector<Delivery>> ListDeliveries(const ListDeliveriesQuery& q) override;
  absl::StatusOr<std::optional<Delivery>> GetDelivery(const std::string& delivery_id) override;
  absl::StatusOr<std::optional<Delivery>> Redeliver(const std::string& delivery_id,
                                                    absl::Time now) override;

 private:
  pg::Pool& pool_;
  IdGenerator& ids_;
  const SecretBox* secrets_;
};

// The DLQ record of a dead delivery: the event as it came (value, key, CloudEvents
// headers) plus sundesk_delivery_id, sundesk_subscription_id, sundesk_attempts,
// sundesk_last_http_status and sundesk_error headers.
kafka::EventRecord DeadLetterRecord(const events::v1::Event& event, const Delivery& delivery,
                                    int attempts, const AttemptResult& result);

}  // namespace sundesk::notification
