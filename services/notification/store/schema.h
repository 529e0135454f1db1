#pragma once

#include <vector>

#include "libs/pg/migrations.h"

namespace sundesk::notification {

inline constexpr char kSchema[] = "notification";

// Every migration of schema `notification`, in order: store/migrations/*.sql and the
// transactional outbox as version 3.
std::vector<pg::Migration> AllMigrations();

}  // namespace sundesk::notification
