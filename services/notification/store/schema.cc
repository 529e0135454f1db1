#include "services/notification/store/schema.h"

#include <algorithm>

#include "libs/kafka/outbox.h"
#include "services/notification/store/migrations.h"

namespace sundesk::notification {

std::vector<pg::Migration> AllMigrations() {
  std::vector<pg::Migration> all = Migrations();
  all.push_back(kafka::OutboxMigration(3));
  std::sort(all.begin(), all.end(),
            [](const pg::Migration& a, const pg::Migration& b) { return a.version < b.version; });
  return all;
}

}  // namespace sundesk::notification
