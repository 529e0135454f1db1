#include "services/ticket/store/schema.h"

#include "libs/kafka/outbox.h"
#include "services/ticket/store/migrations.h"

namespace sundesk::ticket {

std::vector<pg::Migration> AllMigrations() {
  std::vector<pg::Migration> all = {kafka::OutboxMigration(1)};
  for (pg::Migration& m : Migrations()) all.push_back(std::move(m));
  return all;
}

}  // namespace sundesk::ticket
