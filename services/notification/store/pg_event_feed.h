#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "libs/pg/pool.h"

namespace sundesk::notification {

struct FeedEntry {
  int64_t position = 0;
  std::string event_id;
  std::string payload;  // the serialized Event
};

// Reads a tenant's event feed (written by PgDeliveryStore::RecordEvent).
class PgEventFeed {
 public:
  explicit PgEventFeed(pg::Pool& pool) : pool_(pool) {}

  // The position of `event_id` in the tenant's feed, or nullopt when it is not there.
  absl::StatusOr<std::optional<int64_t>> PositionOf(const std::string& tenant_id,
                                                    const std::string& event_id);
  // The newest position (0 for an empty feed): "from now on" starts after it.
  absl::StatusOr<int64_t> Head(const std::string& tenant_id);
  // Entries after `after` of the given types (empty: all), oldest first, at most `limit`.
  absl::StatusOr<std::vector<FeedEntry>> Read(const std::string& tenant_id, int64_t after,
                                              const std::vector<std::string>& types, int limit);
  // Deletes entries received before `cutoff` (retention); returns how many. A cursor that
  // named one of them is then unknown (StreamEvents answers FAILED_PRECONDITION).
  absl::StatusOr<int64_t> DeleteReceivedBefore(absl::Time cutoff);

 private:
  pg::Pool& pool_;
};

}  // namespace sundesk::notification
