#pragma once

#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "libs/core/log.h"

namespace sundesk {

template <typename Connection>
class BoundedPool;

// A connection borrowed from a BoundedPool; it goes back to the pool when the lease is
// destroyed or assigned over. A moved-from lease holds nothing.
template <typename Connection>
class PoolLease {
 public:
  PoolLease(PoolLease&& other) noexcept
      : pool_(std::exchange(other.pool_, nullptr)), conn_(std::move(other.conn_)) {}
  PoolLease& operator=(PoolLease&& other) noexcept {
    if (this != &other) {
      GiveBack();
      pool_ = std::exchange(other.pool_, nullptr);
      conn_ = std::move(other.conn_);
    }
    return *this;
  }
  ~PoolLease() { GiveBack(); }

  Connection* operator->() const { return conn_.get(); }
  Connection& operator*() const { return *conn_; }

 private:
  friend class BoundedPool<Connection>;
  PoolLease(BoundedPool<Connection>* pool, std::unique_ptr<Connection> conn)
      : pool_(pool), conn_(std::move(conn)) {}
  void GiveBack() {
    if (conn_ != nullptr) pool_->Release(std::move(conn_));
  }

  BoundedPool<Connection>* pool_;
  std::unique_ptr<Connection> conn_;
};

// Up to `size` connections shared by threads, for clients whose connections must not be
// used by two threads at once (libpq, hiredis). Connections open lazily, on demand, within
// the caller's deadline; an idle one that is no longer usable is closed and replaced before
// it is handed out; one that comes back not reusable is closed. Thread-safe. Must outlive
// every lease: destroying it with connections still leased aborts.
template <typename Connection>
class BoundedPool {
 public:
  struct Options {
    std::string name;  // prefixes errors and logs: "pg", "redis"
    int size = 1;      // most connections open at once; at least 1
    // Opens a connection by `deadline`. Called without the pool's lock, with a slot
    // reserved for it; an error is returned to the caller of Acquire as it is.
    std::function<absl::StatusOr<std::unique_ptr<Connection>>(absl::Time deadline)> open;
    // Whether an idle connection can still be handed out (the server may have closed it).
    std::function<bool(Connection&)> still_usable;
    // Whether a connection coming back from a lease may be leased again.
    std::function<bool(const Connection&)> reusable;
  };

  explicit BoundedPool(Options options) : options_(std::move(options)) {}
  ~BoundedPool() {
    absl::MutexLock lock(&mu_);
    if (open_ != static_cast<int>(idle_.size())) {
      log::Error(absl::StrCat(options_.name, ": pool destroyed while connections are leased"),
                 {{"open", open_}, {"idle", idle_.size()}});
      std::abort();
    }
  }
  BoundedPool(const BoundedPool&) = delete;
  BoundedPool& operator=(const BoundedPool&) = delete;

  // An idle connection, else a new one if fewer than `size` are open, else waits for one
  // until `deadline`, then UNAVAILABLE.
  absl::StatusOr<PoolLease<Connection>> Acquire(absl::Time deadline) {
    while (true) {
      std::unique_ptr<Connection> conn;
      {
        absl::MutexLock lock(&mu_);
        auto free = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
          return !idle_.empty() || open_ < options_.size;
        };
        if (!mu_.AwaitWithDeadline(absl::Condition(&free), deadline)) {
          return absl::UnavailableError(absl::StrCat(options_.name, ": all ", options_.size,
                                                     " connections busy until the deadline"));
        }
        if (idle_.empty()) {
          ++open_;  // reserve the slot; open outside the lock
        } else {
          conn = std::move(idle_.back());
          idle_.pop_back();
        }
      }
      if (conn == nullptr) {
        auto opened = options_.open(deadline);
        if (!opened.ok()) {
          FreeSlot();
          return opened.status();
        }
        return PoolLease<Connection>(this, *std::move(opened));
      }
      if (options_.still_usable(*conn)) return PoolLease<Connection>(this, std::move(conn));
      log::Info(absl::StrCat(options_.name, ": dropping a pooled connection the server closed"));
      conn.reset();
      FreeSlot();
    }
  }

  // Connections currently open: idle, leased or being opened.
  int open_connections() const {
    absl::MutexLock lock(&mu_);
    return open_;
  }

 private:
  friend class PoolLease<Connection>;

  void Release(std::unique_ptr<Connection> conn) {
    bool reusable = options_.reusable(*conn);
    if (!reusable) conn.reset();  // closes outside the lock
    absl::MutexLock lock(&mu_);
    if (reusable) {
      idle_.push_back(std::move(conn));
    } else {
      --open_;
    }
  }

  void FreeSlot() {
    absl::MutexLock lock(&mu_);
    --open_;
  }

  const Options options_;
  mutable absl::Mutex mu_;
  std::vector<std::unique_ptr<Connection>> idle_ ABSL_GUARDED_BY(mu_);
  int open_ ABSL_GUARDED_BY(mu_) = 0;  // idle + leased + being opened
};

}  // namespace sundesk
