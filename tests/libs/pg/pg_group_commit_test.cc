#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "libs/pg/errors.h"
#include "libs/pg/group_commit.h"
#include "tests/libs/pg/pg_fixture.h"
#include "tests/support/process.h"

namespace sundesk::pg {
namespace {

// One unit: a ticket row and its history row, returning the ticket's id.
std::vector<Statement> TicketUnit(int id) {
  return {{"INSERT INTO tickets (id) VALUES ($1) RETURNING id", {id}},
          {"INSERT INTO history (ticket_id) VALUES ($1)", {id}}};
}

// A unit whose two statements may be merged with other units' (Statement::merge_rows): a
// ticket with a note and JSON labels, and its history row.
std::vector<Statement> MergeableUnit(int id) {
  return {{"INSERT INTO tickets (id, note, labels) VALUES ($1, $2, $3::jsonb)",
           {id, id % 3 == 0 ? Param::Null() : Param(absl::StrCat("note ", id, " $1 ($2)")),
            absl::StrCat("[\"l", id, "\"]")},
           /*merge_rows=*/true},
          {"INSERT INTO history (ticket_id) VALUES ($1)", {id}, /*merge_rows=*/true}};
}

class GroupCommitTest : public PgTest {
 protected:
  void SetUp() override {
    PgTest::SetUp();
    ASSERT_TRUE(Query("CREATE TABLE tickets (id int PRIMARY KEY, note text, labels jsonb)").ok());
    ASSERT_TRUE(Query("CREATE TABLE history (ticket_id int NOT NULL)").ok());
  }

  // Starts the blocked unit (id 0) and then `units` — each from its own thread, or with
  // CommitAsync when `async` — and waits until all of them are queued behind it.
  void StartQueued(GroupCommitter& committer, const std::vector<std::vector<Statement>>& units,
                   bool async = false) {
    // A unit that cannot commit until the test lets it: it waits for an advisory lock the
    // test holds, so the one writer stays busy while the other units queue up behind it.
    auto blocker = Connection::Open({.dsn = dsn_}, absl::Now() + absl::Seconds(10));
    ASSERT_TRUE(blocker.ok()) << blocker.status();
    blocker_ = std::move(*blocker);
    ASSERT_TRUE(blocker_->Execute("SELECT pg_advisory_lock(7)").ok());
    outcomes_.resize(units.size() + 1);
    threads_.emplace_back([&] {
      outcomes_[0] = committer.Commit(
          {{"SELECT pg_advisory_xact_lock(7)", {}}, {"INSERT INTO tickets (id) VALUES (0)", {}}});
    });
    ASSERT_TRUE(testing::WaitFor(
        [&] {
          return Query(
                     "SELECT 1 FROM pg_locks WHERE locktype = "
                     "'advisory' AND NOT granted")
                     ->rows() == 1;
        },
        absl::Seconds(10)));
    for (size_t i = 0; i < units.size(); ++i) {
      if (async) {
        committer.CommitAsync(units[i], [this, i](absl::StatusOr<std::vector<Result>> outcome) {
          absl::MutexLock lock(&async_mu_);
          outcomes_[i + 1] = std::move(outcome);
          ++async_done_;
        });
      } else {
        threads_.emplace_back([&, i] { outcomes_[i + 1] = committer.Commit(units[i]); });
      }
    }
    ASSERT_TRUE(testing::WaitFor(
        [&] { return committer.waiting_units() == static_cast<int>(units.size()); },
        absl::Seconds(10)));
  }

  void ReleaseAndJoin() {
    ASSERT_TRUE(blocker_->Execute("SELECT pg_advisory_unlock(7)").ok());
    for (auto& t : threads_) t.join();
    threads_.clear();
  }

  // Waits until `n` asynchronous units have had their outcome.
  void AwaitAsync(int n) {
    absl::MutexLock lock(&async_mu_);
    auto enough = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(async_mu_) { return async_done_ >= n; };
    ASSERT_TRUE(async_mu_.AwaitWithTimeout(absl::Condition(&enough), absl::Seconds(30)))
        << "only " << async_done_ << " of " << n << " asynchronous units had an outcome";
  }

  std::unique_ptr<Connection> blocker_;
  absl::Mutex async_mu_;
  int async_done_ ABSL_GUARDED_BY(async_mu_) = 0;
  std::vector<std::thread> threads_;
  std::vector<absl::StatusOr<std::vector<Result>>> outcomes_;
};

TEST_F(GroupCommitTest, QueuedUnitsCommitTogetherAsOneTransactionEachWithItsOwnResults) {
  GroupCommitter committer(*pool_, {.max_writers = 1, .max_units = 32});
  std::vector<std::vector<Statement>> units;
  for (int id = 1; id <= 10; ++id) units.push_back(TicketUnit(id));
  StartQueued(committer, units);
  ReleaseAndJoin();
  for (size_t i = 0; i < outcomes_.size(); ++i)
    ASSERT_TRUE(outcomes_[i].ok()) << outcomes_[i].status();
  for (int id = 1; id <= 10; ++id) {
    const auto& mine = *outcomes_[static_cast<size_t>(id)];
    ASSERT_EQ(mine.size(), 2u);
    EXPECT_EQ(mine[0].Int64(0, 0).value_or(-1), id) << "unit " << id << " got another's result";
  }
  EXPECT_EQ(QueryInt("SELECT count(*) FROM history"), 10);
  // The ten queued units were one group: one transaction wrote all of their rows.
  EXPECT_EQ(QueryInt("SELECT count(DISTINCT xmin::text) FROM tickets WHERE id > 0"), 1);
}

TEST_F(GroupCommitTest, AFailingUnitFailsAloneAndTheRestOfItsGroupCommits) {
  GroupCommitter committer(*pool_, {.max_writers = 1, .max_units = 32});
  ASSERT_TRUE(Query("INSERT INTO tickets (id) VALUES (5)").ok());
  std::vector<std::vector<Statement>> units;
  for (int id = 3; id <= 7; ++id) units.push_back(TicketUnit(id));  // 5 already exists
  StartQueued(committer, units);
  ReleaseAndJoin();
  for (int id = 3; id <= 7; ++id) {
    const auto& outcome = outcomes_[static_cast<size_t>(id - 2)];
    if (id == 5) {
      EXPECT_EQ(outcome.status().code(), absl::StatusCode::kAlreadyExists) << outcome.status();
      EXPECT_EQ(ConstraintName(outcome.status()), "tickets_pkey");
    } else {
      EXPECT_TRUE(outcome.ok()) << id << ": " << outcome.status();
    }
  }
  EXPECT_EQ(QueryInt("SELECT count(*) FROM history"), 4) << "the failed unit left no row";
  EXPECT_EQ(QueryInt("SELECT count(*) FROM history WHERE ticket_id = 5"), 0);
}

TEST_F(GroupCommitTest, UnitsWithTheSameMergeableStatementsGoAsMultiRowInsertsOfOneTransaction) {
  GroupCommitter committer(*pool_, {.max_writers = 1, .max_units = 32, .writer_threads = true});
  std::vector<std::vector<Statement>> units;
  for (int id = 1; id <= 12; ++id) units.push_back(MergeableUnit(id));
  units.push_back(TicketUnit(13));  // not mergeable: keeps its own results
  StartQueued(committer, units, /*async=*/true);
  ReleaseAndJoin();
  AwaitAsync(static_cast<int>(units.size()));
  for (size_t i = 0; i < outcomes_.size(); ++i) {
    ASSERT_TRUE(outcomes_[i].ok()) << i << ": " << outcomes_[i].status();
  }
  // Merged units have their status only; the other unit its results.
  for (int id = 1; id <= 12; ++id) EXPECT_TRUE(outcomes_[static_cast<size_t>(id)]->empty()) << id;
  ASSERT_EQ(outcomes_[13]->size(), 2u);
  EXPECT_EQ((*outcomes_[13])[0].Int64(0, 0).value_or(-1), 13);
  // Every row has its own unit's values (parameters renumbered right, NULLs kept).
  for (int id = 1; id <= 12; ++id) {
    auto r =
        Query(absl::StrCat("SELECT coalesce(note, '<null>'), labels::text FROM tickets "
                           "WHERE id = ",
                           id));
    ASSERT_TRUE(r.ok() && r->rows() == 1) << id;
    EXPECT_EQ(r->Text(0, 0), id % 3 == 0 ? "<null>" : absl::StrCat("note ", id, " $1 ($2)"));
    EXPECT_EQ(r->Text(0, 1), absl::StrCat("[\"l", id, "\"]"));
  }
  EXPECT_EQ(QueryInt("SELECT count(*) FROM history WHERE ticket_id BETWEEN 1 AND 13"), 13);
  EXPECT_EQ(QueryInt("SELECT count(DISTINCT xmin::text) FROM tickets WHERE id > 0"), 1);
}

TEST_F(GroupCommitTest, AFailingMergedUnitFailsAloneAndTheOthersCommitAsWritten) {
  GroupCommitter committer(*pool_, {.max_writers = 1, .max_units = 32, .writer_threads = true});
  ASSERT_TRUE(Query("INSERT INTO tickets (id) VALUES (5)").ok());
  std::vector<std::vector<Statement>> units;
  for (int id = 1; id <= 8; ++id) units.push_back(MergeableUnit(id));  // 5 already exists
  StartQueued(committer, units, /*async=*/true);
  ReleaseAndJoin();
  AwaitAsync(static_cast<int>(units.size()));
  for (int id = 1; id <= 8; ++id) {
    const auto& outcome = outcomes_[static_cast<size_t>(id)];
    if (id == 5) {
      EXPECT_EQ(outcome.status().code(), absl::StatusCode::kAlreadyExists) << outcome.status();
      EXPECT_EQ(ConstraintName(outcome.status()), "tickets_pkey");
    } else {
      EXPECT_TRUE(outcome.ok()) << id << ": " << outcome.status();
    }
  }
  EXPECT_EQ(QueryInt("SELECT count(*) FROM history"), 7) << "the failed unit left no row";
  EXPECT_EQ(QueryInt("SELECT count(*) FROM history WHERE ticket_id = 5"), 0);
  // Run alone, each unit still wrote its own values.
  EXPECT_EQ(QueryInt("SELECT count(*) FROM tickets WHERE id BETWEEN 1 AND 8 AND id <> 5 AND "
                     "labels = jsonb_build_array('l' || id) AND (id % 3 = 0) = (note IS NULL)"),
            7);
}

TEST_F(GroupCommitTest, ManyConcurrentCallersAllCommitExactlyOnce) {
  GroupCommitter committer(*pool_, {.max_writers = 2, .max_units = 8});
  std::vector<std::thread> callers;
  std::vector<absl::Status> failures(16);
  for (int t = 0; t < 16; ++t) {
    callers.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i) {
        auto r = committer.Commit(TicketUnit(1000 + t * 100 + i));
        if (!r.ok()) failures[static_cast<size_t>(t)] = r.status();
      }
    });
  }
  for (auto& c : callers) c.join();
  for (const auto& f : failures) EXPECT_TRUE(f.ok()) << f;
  EXPECT_EQ(QueryInt("SELECT count(*) FROM tickets"), 400);
  EXPECT_EQ(QueryInt("SELECT count(*) FROM history"), 400);
  EXPECT_EQ(committer.waiting_units(), 0);
}

TEST_F(GroupCommitTest,
       AsynchronousUnitsQueuedBehindAWriterCommitAsOneTransactionEachHearingItsOwn) {
  GroupCommitter committer(*pool_, {.max_writers = 1, .max_units = 32, .writer_threads = true});
  std::vector<std::vector<Statement>> units;
  for (int id = 1; id <= 10; ++id) units.push_back(TicketUnit(id));
  StartQueued(committer, units, /*async=*/true);
  ReleaseAndJoin();
  AwaitAsync(10);
  absl::MutexLock lock(&async_mu_);
  for (int id = 1; id <= 10; ++id) {
    const auto& outcome = outcomes_[static_cast<size_t>(id)];
    ASSERT_TRUE(outcome.ok()) << id << ": " << outcome.status();
    ASSERT_EQ(outcome->size(), 2u);
    EXPECT_EQ((*outcome)[0].Int64(0, 0).value_or(-1), id) << "unit " << id << " got another's";
  }
  EXPECT_EQ(async_done_, 10) << "a unit's done ran more than once";
  EXPECT_EQ(QueryInt("SELECT count(*) FROM history"), 10);
  EXPECT_EQ(QueryInt("SELECT count(DISTINCT xmin::text) FROM tickets WHERE id > 0"), 1);
}

TEST_F(GroupCommitTest, AFailingAsynchronousUnitFailsAlone) {
  GroupCommitter committer(*pool_, {.max_writers = 1, .max_units = 32, .writer_threads = true});
  ASSERT_TRUE(Query("INSERT INTO tickets (id) VALUES (5)").ok());
  std::vector<std::vector<Statement>> units;
  for (int id = 3; id <= 7; ++id) units.push_back(TicketUnit(id));
  StartQueued(committer, units, /*async=*/true);
  ReleaseAndJoin();
  AwaitAsync(5);
  absl::MutexLock lock(&async_mu_);
  for (int id = 3; id <= 7; ++id) {
    const auto& outcome = outcomes_[static_cast<size_t>(id - 2)];
    if (id == 5) {
      EXPECT_EQ(outcome.status().code(), absl::StatusCode::kAlreadyExists) << outcome.status();
    } else {
      EXPECT_TRUE(outcome.ok()) << id << ": " << outcome.status();
    }
  }
  EXPECT_EQ(QueryInt("SELECT count(*) FROM history"), 4) << "the failed unit left no row";
}

TEST_F(GroupCommitTest, BlockingAndAsynchronousCallersMixedAllCommitExactlyOnce) {
  std::atomic<int> done_calls{0};
  std::vector<absl::Status> failures(16);
  absl::Mutex failures_mu;
  {
    GroupCommitter committer(*pool_, {.max_writers = 2, .max_units = 8, .writer_threads = true});
    std::vector<std::thread> callers;
    for (int t = 0; t < 16; ++t) {
      callers.emplace_back([&, t] {
        for (int i = 0; i < 25; ++i) {
          const int id = 1000 + t * 100 + i;
          if (t % 2 == 0) {
            auto r = committer.Commit(TicketUnit(id));
            if (!r.ok()) failures[static_cast<size_t>(t)] = r.status();
          } else {
            committer.CommitAsync(TicketUnit(id), [&, t](absl::StatusOr<std::vector<Result>> r) {
              ++done_calls;
              if (r.ok()) return;
              absl::MutexLock lock(&failures_mu);
              failures[static_cast<size_t>(t)] = r.status();
            });
          }
        }
      });
    }
    for (auto& c : callers) c.join();
    // The committer goes out of scope with asynchronous units possibly still queued: its
    // destructor waits for them.
  }
  EXPECT_EQ(done_calls.load(), 8 * 25) << "every asynchronous unit hears its outcome once";
  for (const auto& f : failures) EXPECT_TRUE(f.ok()) << f;
  EXPECT_EQ(QueryInt("SELECT count(*) FROM tickets"), 400);
  EXPECT_EQ(QueryInt("SELECT count(*) FROM history"), 400);
}

TEST_F(GroupCommitTest, WithoutWriterThreadsCommitAsyncCommitsOnTheCallersThread) {
  GroupCommitter committer(*pool_, {.max_writers = 1});
  const std::thread::id caller = std::this_thread::get_id();
  std::thread::id ran_on;
  bool ok = false;
  committer.CommitAsync(TicketUnit(42), [&](absl::StatusOr<std::vector<Result>> r) {
    ran_on = std::this_thread::get_id();
    ok = r.ok();
  });
  EXPECT_EQ(ran_on, caller);
  EXPECT_TRUE(ok);
  EXPECT_EQ(QueryInt("SELECT count(*) FROM tickets WHERE id = 42"), 1);
}

}  // namespace
}  // namespace sundesk::pg
