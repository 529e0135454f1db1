#include "libs/pg/group_commit.h"

#include <algorithm>
#include <utility>

#include "absl/strings/match.h"
#include "libs/pg/errors.h"

namespace sundesk::pg {

struct GroupCommitter::Unit {
  enum class State { kWaiting, kLead, kDone };
  std::vector<Statement> statements;
  State state = State::kWaiting;
  absl::StatusOr<std::vector<Result>> result = std::vector<Result>{};
  // Set for a unit of CommitAsync, which is on the heap and deleted once `done` ran.
  Done done;
};

namespace {

// An error the server reported (with a SQLSTATE) that rolled the group back, other than a
// lost connection: running each unit alone tells whose unit caused it.
bool RetryAlone(const absl::Status& status) {
  std::string state = SqlState(status);
  return !state.empty() && !absl::StartsWith(state, "08");
}

}  // namespace

GroupCommitter::GroupCommitter(Pool& pool, GroupCommitOptions options)
    : pool_(pool),
      options_{.max_writers = std::max(1, options.max_writers),
               .max_units = std::max(1, options.max_units),
               .writer_threads = options.writer_threads} {
  if (options_.writer_threads) {
    threads_ = std::make_unique<WorkerPool>(options_.max_writers, "pg-commit");
  }
}

GroupCommitter::~GroupCommitter() {
  absl::MutexLock lock(&mu_);
  mu_.Await(absl::Condition(
      +[](GroupCommitter* c)
           ABSL_NO_THREAD_SAFETY_ANALYSIS { return c->writers_ == 0 && c->waiting_.empty(); },
      this));
}

absl::StatusOr<std::vector<Result>> GroupCommitter::Commit(std::vector<Statement> statements) {
  Unit self;
  self.statements = std::move(statements);
  std::vector<Unit*> group;
  {
    absl::MutexLock lock(&mu_);
    if (writers_ < options_.max_writers) {
      ++writers_;
      self.state = Unit::State::kLead;
    } else {
      waiting_.push_back(&self);
      mu_.Await(absl::Condition(
          +[](Unit* u) { return u->state != Unit::State::kWaiting; }, &self));
      if (self.state == Unit::State::kDone) return std::move(self.result);
    }
    // Leading: this unit and the oldest waiting ones.
    group.push_back(&self);
    TakeGroup(group);
  }
  Write(group);
  Deliver(group, 1);
  {
    absl::MutexLock lock(&mu_);
    PassSlot();
  }
  return std::move(self.result);
}

void GroupCommitter::CommitAsync(std::vector<Statement> statements, Done done) {
  if (threads_ == nullptr) {
    std::move(done)(Commit(std::move(statements)));
    return;
  }
  auto* unit = new Unit;
  unit->statements = std::move(statements);
  unit->done = std::move(done);
  bool start = false;
  {
    absl::MutexLock lock(&mu_);
    waiting_.push_back(unit);
    if (writers_ < options_.max_writers) {
      ++writers_;
      start = true;
    }
  }
  if (start) threads_->Schedule([this] { Drain(); });
}

void GroupCommitter::Drain() {
  for (;;) {
    std::vector<Unit*> group;
    {
      absl::MutexLock lock(&mu_);
      if (waiting_.empty() || !waiting_.front()->done) {
        PassSlot();
        return;
      }
      TakeGroup(group);
    }
    Write(group);
    Deliver(group, 0);
  }
}

void GroupCommitter::TakeGroup(std::vector<Unit*>& group) {
  while (!waiting_.empty() && static_cast<int>(group.size()) < options_.max_units) {
    group.push_back(waiting_.front());
    waiting_.pop_front();
  }
}

void GroupCommitter::PassSlot() {
  if (waiting_.empty()) {
    --writers_;
  } else if (!waiting_.front()->done) {
    // The oldest waiting caller blocks in Commit: it leads the next group.
    waiting_.front()->state = Unit::State::kLead;
    waiting_.pop_front();
  } else {
    threads_->Schedule([this] { Drain(); });
  }
}

void GroupCommitter::Deliver(std::vector<Unit*>& group, size_t first) {
  std::vector<Unit*> async;
  bool blocking = false;
  for (size_t i = first; i < group.size(); ++i) {
    if (group[i]->done) {
      async.push_back(group[i]);
    } else {
      blocking = true;
    }
  }
  if (blocking) {
    absl::MutexLock lock(&mu_);
    for (size_t i = first; i < group.size(); ++i) {
      if (!group[i]->done) group[i]->state = Unit::State::kDone;
    }
  }
  for (Unit* u : async) {
    std::move(u->done)(std::move(u->result));
    delete u;
  }
}

int GroupCommitter::waiting_units() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(waiting_.size());
}

void GroupCommitter::Write(std::vector<Unit*>& group) {
  absl::StatusOr<Lease> conn = pool_.Acquire();
  if (!conn.ok()) {
    for (Unit* u : group) u->result = conn.status();
    return;
  }
  if (group.size() == 1) {
    group[0]->result = (*conn)->ExecuteAtomically(group[0]->statements);
    return;
  }
  // The units' statements move into one pipeline (no copies of SQL and parameters), and
  // move back only if each unit must run again alone.
  std::vector<Statement> all;
  size_t total = 0;
  for (Unit* u : group) total += u->statements.size();
  all.reserve(total);
  for (Unit* u : group) {
    for (Statement& s : u->statements) all.push_back(std::move(s));
  }
  absl::StatusOr<std::vector<Result>> results = (*conn)->ExecuteAtomically(all);
  if (results.ok()) {
    auto next = results->begin();
    for (Unit* u : group) {
      std::vector<Result> mine;
      mine.reserve(u->statements.size());
      for (size_t i = 0; i < u->statements.size(); ++i) mine.push_back(std::move(*next++));
      u->result = std::move(mine);
    }
    return;
  }
  if (!RetryAlone(results.status()) || !(*conn)->healthy()) {
    for (Unit* u : group) u->result = results.status();
    return;
  }
  auto from = all.begin();
  for (Unit* u : group) {
    for (Statement& s : u->statements) s = std::move(*from++);
    u->result = (*conn)->ExecuteAtomically(u->statements);
  }
}

}  // namespace sundesk::pg
