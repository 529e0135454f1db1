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
               .max_units = std::max(1, options.max_units)} {}

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
    while (!waiting_.empty() && static_cast<int>(group.size()) < options_.max_units) {
      group.push_back(waiting_.front());
      waiting_.pop_front();
    }
  }
  Write(group);
  {
    absl::MutexLock lock(&mu_);
    for (size_t i = 1; i < group.size(); ++i) group[i]->state = Unit::State::kDone;
    if (!waiting_.empty()) {
      // The writer slot passes to the oldest waiting caller.
      waiting_.front()->state = Unit::State::kLead;
      waiting_.pop_front();
    } else {
      --writers_;
    }
  }
  return std::move(self.result);
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
  std::vector<Statement> all;
  for (Unit* u : group) {
    for (const Statement& s : u->statements) all.push_back(s);
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
  for (Unit* u : group) u->result = (*conn)->ExecuteAtomically(u->statements);
}

}  // namespace sundesk::pg
