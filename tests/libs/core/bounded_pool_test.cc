#include "libs/core/bounded_pool.h"

#include <memory>
#include <optional>
#include <thread>
#include <utility>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace sundesk {
namespace {

// Stands in for a libpq or hiredis session: the server can close it while it is idle,
// and a caller can break it while it is leased.
struct FakeConnection {
  FakeConnection(int id, int* closed) : id(id), closed(closed) {}
  ~FakeConnection() { ++*closed; }

  int id;
  int* closed;
  bool closed_by_server = false;
  bool broken = false;
};

class FakeServer {
 public:
  BoundedPool<FakeConnection>::Options PoolOptions(int size) {
    return {
        .name = "fake",
        .size = size,
        .open = [this](absl::Time) -> absl::StatusOr<std::unique_ptr<FakeConnection>> {
          if (!refuse.ok()) return refuse;
          return std::make_unique<FakeConnection>(++opened, &closed);
        },
        .still_usable = [](FakeConnection& conn) { return !conn.closed_by_server; },
        .reusable = [](const FakeConnection& conn) { return !conn.broken; },
    };
  }

  // Touched by one thread at a time: the tests never open or close concurrently.
  int opened = 0;
  int closed = 0;
  absl::Status refuse;  // what opening fails with, when not OK
};

// Acquire that must succeed, without waiting.
PoolLease<FakeConnection> Take(BoundedPool<FakeConnection>& pool) {
  auto lease = pool.Acquire(absl::InfinitePast());
  EXPECT_TRUE(lease.ok()) << lease.status();
  return *std::move(lease);
}

TEST(BoundedPoolTest, OpensLazilyAndReusesAReturnedConnection) {
  FakeServer server;
  BoundedPool<FakeConnection> pool(server.PoolOptions(2));
  EXPECT_EQ(server.opened, 0);
  EXPECT_EQ(pool.open_connections(), 0);

  { EXPECT_EQ(Take(pool)->id, 1); }
  EXPECT_EQ(Take(pool)->id, 1);
  EXPECT_EQ(server.opened, 1);
  EXPECT_EQ(pool.open_connections(), 1);
}

TEST(BoundedPoolTest, OpensNoMoreThanSizeAndGivesUpAtTheDeadline) {
  FakeServer server;
  BoundedPool<FakeConnection> pool(server.PoolOptions(2));
  PoolLease<FakeConnection> first = Take(pool);
  PoolLease<FakeConnection> second = Take(pool);

  absl::Time start = absl::Now();
  auto busy = pool.Acquire(start + absl::Milliseconds(30));
  EXPECT_EQ(busy.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(busy.status().message(), "fake: all 2 connections busy until the deadline");
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(30));
  EXPECT_EQ(server.opened, 2);
  EXPECT_EQ(pool.open_connections(), 2);
}

TEST(BoundedPoolTest, AWaiterGetsTheConnectionWhenItIsReturned) {
  FakeServer server;
  BoundedPool<FakeConnection> pool(server.PoolOptions(1));
  std::optional<PoolLease<FakeConnection>> held = Take(pool);

  std::optional<int> waiter_got;
  std::thread waiter([&] {
    auto lease = pool.Acquire(absl::InfiniteFuture());
    if (lease.ok()) waiter_got = (*lease)->id;
  });
  held.reset();
  waiter.join();
  EXPECT_EQ(waiter_got, 1);
  EXPECT_EQ(server.opened, 1);
}

TEST(BoundedPoolTest, AFailedOpenFreesItsSlot) {
  FakeServer server;
  BoundedPool<FakeConnection> pool(server.PoolOptions(1));
  server.refuse = absl::UnavailableError("fake: connection refused");
  EXPECT_EQ(pool.Acquire(absl::InfiniteFuture()).status(), server.refuse);
  EXPECT_EQ(pool.open_connections(), 0);

  server.refuse = absl::OkStatus();
  EXPECT_EQ(Take(pool)->id, 1);
}

TEST(BoundedPoolTest, AnIdleConnectionTheServerClosedIsReplaced) {
  FakeServer server;
  BoundedPool<FakeConnection> pool(server.PoolOptions(1));
  Take(pool)->closed_by_server = true;  // the lease goes back at the end of the statement

  EXPECT_EQ(Take(pool)->id, 2);
  EXPECT_EQ(server.closed, 1);
  EXPECT_EQ(pool.open_connections(), 1);
}

TEST(BoundedPoolTest, ABrokenConnectionIsClosedOnReturnNotHandedOutAgain) {
  FakeServer server;
  BoundedPool<FakeConnection> pool(server.PoolOptions(1));
  Take(pool)->broken = true;
  EXPECT_EQ(server.closed, 1);
  EXPECT_EQ(pool.open_connections(), 0);

  EXPECT_EQ(Take(pool)->id, 2);
}

TEST(BoundedPoolTest, ALeaseGoesBackOnceWhenMovedAndWhenAssignedOver) {
  FakeServer server;
  BoundedPool<FakeConnection> pool(server.PoolOptions(2));
  std::optional<PoolLease<FakeConnection>> first = Take(pool);
  PoolLease<FakeConnection> moved(std::move(*first));
  first.reset();  // the moved-from lease holds nothing to give back
  EXPECT_EQ(moved->id, 1);

  PoolLease<FakeConnection> second = Take(pool);
  EXPECT_EQ(second->id, 2);
  EXPECT_FALSE(pool.Acquire(absl::InfinitePast()).ok()) << "both are leased";

  second = std::move(moved);  // gives connection 2 back, keeps 1
  EXPECT_EQ((*second).id, 1);
  EXPECT_EQ(Take(pool)->id, 2);
  EXPECT_EQ(server.opened, 2);
  EXPECT_EQ(server.closed, 0);
  EXPECT_EQ(pool.open_connections(), 2);
}

}  // namespace
}  // namespace sundesk
