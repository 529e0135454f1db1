#include "services/notification/store/pg_event_feed.h"

#include "libs/core/status.h"
#include "services/notification/store/pg_subscription_store.h"

namespace sundesk::notification {

absl::StatusOr<std::optional<int64_t>> PgEventFeed::PositionOf(const std::string& tenant_id,
                                                               const std::string& event_id) {
  SUNDESK_ASSIGN_OR_RETURN(pg::Lease conn, pool_.Acquire());
  SUNDESK_ASSIGN_OR_RETURN(pg::Result r,
                           conn->Execute("SELECT position FROM notification.event_feed WHERE "
                                         "tenant_id = $1 AND event_id = $2",
                                         {tenant_id, event_id}));
  if (r.rows() == 0) return std::nullopt;
  SUNDESK_ASSIGN_OR_RETURN(int64_t position, r.Int64(0, 0));
  return position;
}

absl::StatusOr<int64_t> PgEventFeed::Head(const std::string& tenant_id) {
  SUNDESK_ASSIGN_OR_RETURN(pg::Lease conn, pool_.Acquire());
  SUNDESK_ASSIGN_OR_RETURN(
      pg::Result r,
      conn->Execute("SELECT COALESCE(max(position), 0) FROM notification.event_feed WHERE "
                    "tenant_id = $1",
                    {tenant_id}));
  return r.Int64(0, 0);
}

absl::StatusOr<std::vector<FeedEntry>> PgEventFeed::Read(const std::string& tenant_id,
                                                         int64_t after,
                                                         const std::vector<std::string>& types,
                                                         int limit) {
  SUNDESK_ASSIGN_OR_RETURN(pg::Lease conn, pool_.Acquire());
  SUNDESK_ASSIGN_OR_RETURN(
      pg::Result r,
      conn->Execute("SELECT position, event_id, payload FROM notification.event_feed WHERE "
                    "tenant_id = $1 AND position > $2 AND ($3::text[] = '{}' OR event_type = "
                    "ANY($3::text[])) ORDER BY position LIMIT $4",
                    {tenant_id, after, pg::Param::TextArray(types), limit}));
  std::vector<FeedEntry> out;
  out.reserve(r.rows());
  for (int i = 0; i < r.rows(); ++i) {
    FeedEntry e;
    SUNDESK_ASSIGN_OR_RETURN(e.position, r.Int64(i, "position"));
    e.event_id = std::string(r.Text(i, "event_id"));
    SUNDESK_ASSIGN_OR_RETURN(e.payload, r.Bytea(i, "payload"));
    out.push_back(std::move(e));
  }
  return out;
}

absl::StatusOr<int64_t> PgEventFeed::DeleteReceivedBefore(absl::Time cutoff) {
  SUNDESK_ASSIGN_OR_RETURN(pg::Lease conn, pool_.Acquire());
  SUNDESK_ASSIGN_OR_RETURN(
      pg::Result r,
      // A delivery without its own payload reads it from the feed row (see
      // 0010_payload_once.sql): it gets a copy first. Deliveries are found by the tenant's
      // subscriptions and the event id (their unique index).
      conn->Execute("WITH gone AS (DELETE FROM notification.event_feed WHERE received_at < $1 "
                    "RETURNING tenant_id, event_id, payload), kept AS (UPDATE "
                    "notification.deliveries d SET payload = g.payload FROM gone g "
                    "JOIN notification.subscriptions s ON s.tenant_id = g.tenant_id "
                    "WHERE d.subscription_id = s.subscription_id AND d.event_id = g.event_id "
                    "AND d.payload IS NULL) SELECT count(*) FROM gone",
                    {cutoff}));
  SUNDESK_ASSIGN_OR_RETURN(int64_t deleted, r.Int64(0, 0));
  return deleted;
}

}  // namespace sundesk::notification
