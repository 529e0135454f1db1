#pragma once

#include <deque>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "libs/pg/connection.h"
#include "libs/pg/pool.h"
#include "libs/pg/result.h"

namespace sundesk::pg {

struct GroupCommitOptions {
  // Groups being written at once, each on its own pooled connection.
  int max_writers = 4;
  // Most units in one group (a group's statements are pipelined before any result is
  // read, so keep units small: a few INSERTs each).
  int max_units = 32;
};

// Commits many small, independent atomic units — each a few statements, e.g. the rows of
// one new ticket — in groups: the units concurrent callers submit are sent in one pipeline
// as one transaction, so PostgreSQL parses no transaction boundaries, takes no commit and
// no WAL flush per unit. Callers still get exactly their own unit's outcome: if a group's
// transaction fails on an error of the server (a unique violation, say), each of its units
// is run again on its own; if the connection is lost, every unit of the group gets that
// error (the commit's outcome is unknown, as it would be for one unit alone).
//
// No thread of its own: the first caller to find a writer slot free writes a group
// (leader), the others wait; a leader that finishes hands the next group to the oldest
// waiting caller. A unit is never delayed to wait for company.
//
// Thread-safe. Must outlive every call to Commit; the pool must outlive it.
class GroupCommitter {
 public:
  GroupCommitter(Pool& pool, GroupCommitOptions options = {});
  GroupCommitter(const GroupCommitter&) = delete;
  GroupCommitter& operator=(const GroupCommitter&) = delete;

  // Commits `statements` atomically (as Connection::ExecuteAtomically would) and returns
  // their results, once they are durable.
  absl::StatusOr<std::vector<Result>> Commit(std::vector<Statement> statements);

  // Units waiting for a writer now (for metrics and tests).
  int waiting_units() const;

 private:
  struct Unit;
  // Writes `group` (the leader's own unit first) and sets every unit's result.
  void Write(std::vector<Unit*>& group);

  Pool& pool_;
  const GroupCommitOptions options_;
  mutable absl::Mutex mu_;
  std::deque<Unit*> waiting_ ABSL_GUARDED_BY(mu_);
  int writers_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace sundesk::pg
