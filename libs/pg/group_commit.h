#pragma once

#include <deque>
#include <memory>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "libs/core/worker_pool.h"
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
  // Whether CommitAsync hands units to writer threads of the committer's own (max_writers
  // of them, named "pg-commit"). Without them CommitAsync commits on the caller's thread.
  bool writer_threads = false;
};

// Commits many small, independent atomic units — each a few statements, e.g. the rows of
// one new ticket — in groups: the units concurrent callers submit are sent in one pipeline
// as one transaction, so PostgreSQL parses no transaction boundaries, takes no commit and
// no WAL flush per unit. Callers still get exactly their own unit's outcome: if a group's
// transaction fails on an error of the server (a unique violation, say), each of its units
// is run again on its own; if the connection is lost, every unit of the group gets that
// error (the commit's outcome is unknown, as it would be for one unit alone).
//
// Commit blocks: the first caller to find a writer slot free writes a group (leader), the
// others wait; a leader that finishes hands the next group to the oldest waiting caller.
// CommitAsync does not block: its unit waits in the same queue and a writer thread (see
// GroupCommitOptions::writer_threads) or a blocking leader takes it along, then calls its
// `done`. A unit is never delayed to wait for company.
//
// Units whose statements all allow it (Statement::merge_rows) and are the same statements
// as another unit's of the group (same SQL, in the same order) are merged: statement i of
// each goes to the server as one multi-row INSERT, so a group of 32 ticket creates costs
// the server 4 statements instead of 128. Such a unit's outcome is its status alone (no
// results); if the group fails, each unit runs alone as written.
//
// Thread-safe. The destructor waits until every unit queued has had its outcome; the pool
// must outlive the committer.
class GroupCommitter {
 public:
  GroupCommitter(Pool& pool, GroupCommitOptions options = {});
  GroupCommitter(const GroupCommitter&) = delete;
  GroupCommitter& operator=(const GroupCommitter&) = delete;

  // Commits `statements` atomically (as Connection::ExecuteAtomically would) and returns
  // their results, once they are durable.
  absl::StatusOr<std::vector<Result>> Commit(std::vector<Statement> statements);

  // The outcome of a unit committed with CommitAsync, called once, on a writer thread (or
  // the thread of a blocking Commit that took the unit along): keep it short and never
  // block in it, since the next group waits for it.
  using Done = absl::AnyInvocable<void(absl::StatusOr<std::vector<Result>>) &&>;

  // As Commit, but returns at once; `done` gets the outcome.
  void CommitAsync(std::vector<Statement> statements, Done done);

  ~GroupCommitter();

  // Units waiting for a writer now (for metrics and tests).
  int waiting_units() const;

 private:
  struct Unit;
  struct Part;
  // How `group` goes to the server: its units, alone or merged with the same statements.
  static std::vector<Part> Plan(std::vector<Unit*>& group);
  // Takes the oldest waiting units, up to max_units, into `group`.
  void TakeGroup(std::vector<Unit*>& group) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Writes `group` (the leader's own unit first) and sets every unit's result.
  void Write(std::vector<Unit*>& group);
  // Hands each unit of `group` but the first its outcome: wakes blocking callers and calls
  // the `done` of asynchronous ones (which are then deleted).
  void Deliver(std::vector<Unit*>& group, size_t first);
  // Called by a writer holding a slot whose group is written: passes the slot to the
  // oldest waiting blocking caller, or to a writer thread when an asynchronous unit is
  // oldest, or frees it.
  void PassSlot() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // A writer thread's loop: groups until no unit waits.
  void Drain();

  Pool& pool_;
  const GroupCommitOptions options_;
  mutable absl::Mutex mu_;
  std::deque<Unit*> waiting_ ABSL_GUARDED_BY(mu_);
  int writers_ ABSL_GUARDED_BY(mu_) = 0;
  // Declared last: destroyed (joined) first, while the members above still exist.
  std::unique_ptr<WorkerPool> threads_;
};

}  // namespace sundesk::pg
