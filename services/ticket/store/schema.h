#pragma once

#include <vector>

#include "libs/pg/migrations.h"

namespace sundesk::ticket {

inline constexpr char kSchema[] = "ticket";

// Every migration of schema `ticket`, in order: the transactional outbox as version 1, then
// store/migrations/*.sql (numbered from 2).
std::vector<pg::Migration> AllMigrations();

}  // namespace sundesk::ticket
