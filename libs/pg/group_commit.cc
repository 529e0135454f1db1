#include "libs/pg/group_commit.h"

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
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

bool Mergeable(const std::vector<Statement>& statements) {
  return !statements.empty() &&
         std::all_of(statements.begin(), statements.end(), [](const Statement& s) {
           return s.merge_rows && s.sql.rfind("VALUES (") != std::string::npos &&
                  absl::EndsWith(s.sql, ")");
         });
}

bool SameStatements(const std::vector<Statement>& a, const std::vector<Statement>& b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(),
                    [](const Statement& x, const Statement& y) { return x.sql == y.sql; });
}

// Parameters of one merged INSERT, kept well below the protocol's 65,535.
constexpr size_t kMaxMergedParams = 30000;

// `sql`'s VALUES tuple repeated `rows` times, each copy's $k shifted by the parameters of
// the copies before it: "INSERT INTO t (a, b) VALUES ($1, $2::jsonb), ($3, $4::jsonb)".
std::string MultiRowInsert(const std::string& sql, size_t params, size_t rows) {
  const size_t values = sql.rfind("VALUES (");
  const absl::string_view head(sql.data(), values + 7);
  const absl::string_view tuple = absl::string_view(sql).substr(values + 7);
  std::string out(head);
  out.reserve(head.size() + rows * (tuple.size() + 8));
  for (size_t r = 0; r < rows; ++r) {
    if (r > 0) out += ", ";
    for (size_t i = 0; i < tuple.size(); ++i) {
      if (tuple[i] != '$' || i + 1 >= tuple.size() || !absl::ascii_isdigit(tuple[i + 1])) {
        out += tuple[i];
        continue;
      }
      size_t end = i + 1;
      size_t k = 0;
      while (end < tuple.size() && absl::ascii_isdigit(tuple[end])) {
        k = k * 10 + static_cast<size_t>(tuple[end] - '0');
        ++end;
      }
      absl::StrAppend(&out, "$", k + r * params);
      i = end - 1;
    }
  }
  return out;
}

}  // namespace

// Units of a group that go to the server together: one unit as written, or several units
// with the same mergeable statements, sent as one multi-row INSERT per statement.
struct GroupCommitter::Part {
  std::vector<Unit*> units;
  bool merged = false;
  // Of a merged part: each statement's SQL and parameter count, to split it up again.
  std::vector<std::pair<std::string, size_t>> shapes;
};

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

std::vector<GroupCommitter::Part> GroupCommitter::Plan(std::vector<Unit*>& group) {
  std::vector<Part> parts;
  for (Unit* u : group) {
    Part* into = nullptr;
    if (Mergeable(u->statements)) {
      size_t params = 0;
      for (const Statement& st : u->statements) params = std::max(params, st.params.size());
      // The first part of the same statements with room for this unit's parameters.
      for (Part& p : parts) {
        if (p.merged && params * (p.units.size() + 1) <= kMaxMergedParams &&
            SameStatements(p.units.front()->statements, u->statements)) {
          into = &p;
          break;
        }
      }
      if (into == nullptr) {
        parts.push_back({.units = {}, .merged = true, .shapes = {}});
        into = &parts.back();
      }
    } else {
      parts.push_back({.units = {}, .merged = false, .shapes = {}});
      into = &parts.back();
    }
    into->units.push_back(u);
  }
  for (Part& p : parts) p.merged = p.merged && p.units.size() > 1;
  return parts;
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
  std::vector<Part> parts = Plan(group);
  std::vector<Statement> all;
  for (Part& p : parts) {
    if (!p.merged) {
      for (Statement& st : p.units.front()->statements) all.push_back(std::move(st));
      continue;
    }
    const size_t count = p.units.front()->statements.size();
    for (size_t i = 0; i < count; ++i) {
      const Statement& first = p.units.front()->statements[i];
      const size_t params = first.params.size();
      Statement merged{.sql = MultiRowInsert(first.sql, params, p.units.size()),
                       .params = {},
                       .merge_rows = false};
      merged.params.reserve(params * p.units.size());
      p.shapes.emplace_back(std::move(p.units.front()->statements[i].sql), params);
      for (Unit* u : p.units) {
        for (Param& param : u->statements[i].params) merged.params.push_back(std::move(param));
      }
      all.push_back(std::move(merged));
    }
  }
  absl::StatusOr<std::vector<Result>> results = (*conn)->ExecuteAtomically(all);
  if (results.ok()) {
    auto next = results->begin();
    for (Part& p : parts) {
      if (p.merged) {
        next += static_cast<std::ptrdiff_t>(p.shapes.size());
        for (Unit* u : p.units) u->result = std::vector<Result>{};
        continue;
      }
      Unit* u = p.units.front();
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
  for (Part& p : parts) {
    if (!p.merged) {
      for (Statement& st : p.units.front()->statements) st = std::move(*from++);
      continue;
    }
    for (size_t i = 0; i < p.shapes.size(); ++i, ++from) {
      auto param = from->params.begin();
      for (Unit* u : p.units) {
        Statement& st = u->statements[i];
        st.sql = p.shapes[i].first;
        for (Param& slot : st.params) slot = std::move(*param++);
      }
    }
  }
  for (Unit* u : group) u->result = (*conn)->ExecuteAtomically(u->statements);
}

}  // namespace sundesk::pg
