#include "services/notification/store/pg_subscription_store.h"

#include <openssl/crypto.h>

#include "absl/strings/str_cat.h"
#include "libs/core/status.h"
#include "libs/pg/text_array.h"
#include "libs/pg/transaction.h"

namespace sundesk::notification {
namespace {

constexpr char kColumns[] =
    "subscription_id, tenant_id, event_types, channel, target, display_name, create_time, "
    "request_fingerprint";

absl::StatusOr<Subscription> FromRow(const pg::Result& r, int row) {
  Subscription s;
  s.subscription_id = std::string(r.Text(row, "subscription_id"));
  s.tenant_id = std::string(r.Text(row, "tenant_id"));
  SUNDESK_ASSIGN_OR_RETURN(s.event_types, pg::ParseTextArray(r.Text(row, "event_types")));
  SUNDESK_ASSIGN_OR_RETURN(int64_t channel, r.Int64(row, "channel"));
  s.channel = static_cast<ChannelKind>(channel);
  s.target = std::string(r.Text(row, "target"));
  s.display_name = std::string(r.Text(row, "display_name"));
  SUNDESK_ASSIGN_OR_RETURN(s.create_time, r.Time(row, "create_time"));
  return s;
}

absl::StatusOr<std::vector<Subscription>> AllRows(const pg::Result& r) {
  std::vector<Subscription> out;
  out.reserve(r.rows());
  for (int i = 0; i < r.rows(); ++i) {
    SUNDESK_ASSIGN_OR_RETURN(Subscription s, FromRow(r, i));
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace

absl::StatusOr<StoredSubscription> PgSubscriptionStore::CreateSubscription(
    const Subscription& s, const std::optional<CreateRecord>& record) {
  std::string plain_secret = s.secret;
  std::optional<SealedSecret> sealed;
  if (secrets_ != nullptr && !s.secret.empty()) {
    SUNDESK_ASSIGN_OR_RETURN(sealed, secrets_->Seal(s.secret, s.subscription_id));
    plain_secret.clear();
  }
  StoredSubscription out;
  SUNDESK_RETURN_IF_ERROR(pg::WithTransaction(pool_, [&](pg::Connection& tx) -> absl::Status {
    SUNDESK_ASSIGN_OR_RETURN(
        pg::Result inserted,
        tx.Execute(
            absl::StrCat("INSERT INTO notification.subscriptions (subscription_id, tenant_id, "
                         "event_types, channel, target, webhook_secret, display_name, "
                         "request_id, request_fingerprint, create_time, "
                         "webhook_secret_key_id, webhook_secret_sealed) "
                         "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) "
                         "ON CONFLICT (tenant_id, request_id) WHERE request_id IS NOT NULL "
                         "DO NOTHING RETURNING ",
                         kColumns),
            {s.subscription_id, s.tenant_id, pg::Param::TextArray(s.event_types),
             static_cast<int>(s.channel), s.target, plain_secret, s.display_name,
             record ? pg::Param(record->request_id) : pg::Param::Null(),
             record ? pg::Param(record->fingerprint) : pg::Param::Null(), s.create_time,
             sealed ? pg::Param(sealed->key_id) : pg::Param::Null(),
             sealed ? pg::Param::Bytea(sealed->sealed) : pg::Param::Null()}));
    if (inserted.rows() == 1) {
      SUNDESK_ASSIGN_OR_RETURN(out.subscription, FromRow(inserted, 0));
      out.replayed = false;
      return absl::OkStatus();
    }
    SUNDESK_ASSIGN_OR_RETURN(
        pg::Result earlier,
        tx.Execute(absl::StrCat("SELECT ", kColumns,
                                ", webhook_secret, webhook_secret_key_id, webhook_secret_sealed "
                                "FROM notification.subscriptions "
                                "WHERE tenant_id = $1 AND request_id = $2"),
                   {s.tenant_id, record->request_id}));
    if (earlier.rows() != 1) {
      // The conflicting row's transaction rolled back between our INSERT and SELECT.
      return absl::AbortedError("subscriptions: concurrent create with the same request_id");
    }
    SUNDESK_ASSIGN_OR_RETURN(out.subscription, FromRow(earlier, 0));
    out.replayed = true;
    out.fingerprint = std::string(earlier.Text(0, "request_fingerprint"));
    // The earlier secret, opened if sealed (under the earlier row's id), compared in
    // constant time; it goes no further than this comparison.
    std::string earlier_secret;
    if (earlier.IsNull(0, "webhook_secret_key_id")) {
      earlier_secret = std::string(earlier.Text(0, "webhook_secret"));
    } else {
      SealedSecret stored{.key_id = std::string(earlier.Text(0, "webhook_secret_key_id"))};
      SUNDESK_ASSIGN_OR_RETURN(stored.sealed, earlier.Bytea(0, "webhook_secret_sealed"));
      if (secrets_ == nullptr) {
        return absl::FailedPreconditionError(
            absl::StrCat("subscription ", out.subscription.subscription_id,
                         ": webhook secret sealed with key \"", stored.key_id,
                         "\", but no --webhook-secret-keys are configured"));
      }
      SUNDESK_ASSIGN_OR_RETURN(earlier_secret,
                               secrets_->Open(stored, out.subscription.subscription_id));
    }
    out.same_secret = earlier_secret.size() == s.secret.size() &&
                      CRYPTO_memcmp(earlier_secret.data(), s.secret.data(), s.secret.size()) == 0;
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<std::vector<Subscription>> PgSubscriptionStore::ListSubscriptions(
    const std::string& tenant_id, const std::string& after_id, int limit) {
  SUNDESK_ASSIGN_OR_RETURN(pg::Lease conn, pool_.Acquire());
  SUNDESK_ASSIGN_OR_RETURN(
      pg::Result r,
      conn->Execute(
          absl::StrCat("SELECT ", kColumns,
                       " FROM notification.subscriptions WHERE tenant_id = $1 AND "
                       "delete_time IS NULL AND ($2::uuid IS NULL OR subscription_id "
                       "> $2::uuid) ORDER BY subscription_id LIMIT $3"),
          {tenant_id, after_id.empty() ? pg::Param::Null() : pg::Param(after_id), limit}));
  return AllRows(r);
}

absl::StatusOr<std::optional<Subscription>> PgSubscriptionStore::GetSubscription(
    const std::string& subscription_id) {
  SUNDESK_ASSIGN_OR_RETURN(pg::Lease conn, pool_.Acquire());
  SUNDESK_ASSIGN_OR_RETURN(
      pg::Result r, conn->Execute(absl::StrCat("SELECT ", kColumns,
                                               " FROM notification.subscriptions WHERE "
                                               "subscription_id = $1 AND delete_time IS NULL"),
                                  {subscription_id}));
  if (r.rows() == 0) return std::nullopt;
  SUNDESK_ASSIGN_OR_RETURN(Subscription s, FromRow(r, 0));
  return s;
}

absl::StatusOr<bool> PgSubscriptionStore::DeleteSubscription(const std::string& tenant_id,
                                                             const std::string& subscription_id,
                                                             absl::Time now) {
  bool deleted = false;
  SUNDESK_RETURN_IF_ERROR(pg::WithTransaction(pool_, [&](pg::Connection& tx) -> absl::Status {
    SUNDESK_ASSIGN_OR_RETURN(
        pg::Result r,
        tx.Execute("UPDATE notification.subscriptions SET delete_time = $3 "
                   "WHERE tenant_id = $1 AND subscription_id = $2 AND delete_time IS NULL",
                   {tenant_id, subscription_id, now}));
    deleted = r.affected_rows() == 1;
    if (!deleted) return absl::OkStatus();
    // Undelivered deliveries are dropped; delivered and dead ones stay as the record.
    return tx
        .Execute(
            "WITH dropped AS (DELETE FROM notification.deliveries WHERE subscription_id = $1 "
            "AND state IN (1, 2) RETURNING delivery_id) DELETE FROM "
            "notification.delivery_queue q USING dropped WHERE q.delivery_id = "
            "dropped.delivery_id",
            {subscription_id})
        .status();
  }));
  return deleted;
}

absl::StatusOr<int> PgSubscriptionStore::ResealSecrets(const SecretBox& box) {
  int resealed = 0;
  while (true) {
    int batch = 0;
    SUNDESK_RETURN_IF_ERROR(pg::WithTransaction(pool_, [&](pg::Connection& tx) -> absl::Status {
      batch = 0;
      SUNDESK_ASSIGN_OR_RETURN(
          pg::Result r,
          tx.Execute("SELECT subscription_id, webhook_secret, webhook_secret_key_id, "
                     "webhook_secret_sealed FROM notification.subscriptions WHERE channel = 1 "
                     "AND ((webhook_secret_key_id IS NULL AND webhook_secret <> '') OR "
                     "webhook_secret_key_id <> $1) LIMIT 200 FOR UPDATE SKIP LOCKED",
                     {box.current_key_id()}));
      for (int i = 0; i < r.rows(); ++i) {
        const std::string id(r.Text(i, "subscription_id"));
        std::string plain;
        if (r.IsNull(i, "webhook_secret_key_id")) {
          plain = std::string(r.Text(i, "webhook_secret"));
        } else {
          SealedSecret old{.key_id = std::string(r.Text(i, "webhook_secret_key_id"))};
          SUNDESK_ASSIGN_OR_RETURN(old.sealed, r.Bytea(i, "webhook_secret_sealed"));
          SUNDESK_ASSIGN_OR_RETURN(plain, box.Open(old, id));
        }
        SUNDESK_ASSIGN_OR_RETURN(SealedSecret now, box.Seal(plain, id));
        SUNDESK_RETURN_IF_ERROR(
            tx.Execute("UPDATE notification.subscriptions SET webhook_secret = '', "
                       "webhook_secret_key_id = $2, webhook_secret_sealed = $3 "
                       "WHERE subscription_id = $1",
                       {id, now.key_id, pg::Param::Bytea(now.sealed)})
                .status());
      }
      batch = r.rows();
      return absl::OkStatus();
    }));
    resealed += batch;
    if (batch == 0) return resealed;
  }
}

absl::StatusOr<std::vector<std::string>> PgSubscriptionStore::SecretKeyIdsInUse() {
  SUNDESK_ASSIGN_OR_RETURN(pg::Lease conn, pool_.Acquire());
  SUNDESK_ASSIGN_OR_RETURN(pg::Result r,
                           conn->Execute("SELECT DISTINCT webhook_secret_key_id FROM "
                                         "notification.subscriptions WHERE channel = 1 AND "
                                         "webhook_secret_key_id IS NOT NULL ORDER BY 1",
                                         {}));
  std::vector<std::string> ids;
  for (int i = 0; i < r.rows(); ++i) ids.emplace_back(r.Text(i, 0));
  return ids;
}

}  // namespace sundesk::notification
