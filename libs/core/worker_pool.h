#pragma once

#include <deque>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/synchronization/mutex.h"

namespace sundesk {

// A fixed set of threads running queued tasks in FIFO order: where work that blocks
// (PostgreSQL, Redis, other services) runs, so that it never holds threads a library owns
// (gRPC's callback threads, librdkafka's). The destructor runs what is queued, then joins.
//
//   WorkerPool pool(32, "rpc");
//   pool.Schedule([request] { Handle(request); });
class WorkerPool {
 public:
  WorkerPool(int threads, std::string name);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  void Schedule(absl::AnyInvocable<void() &&> task);

  int threads() const { return static_cast<int>(threads_.size()); }
  // Tasks waiting for a thread (not counting the running ones).
  size_t queued() const;

 private:
  void Run();

  const std::string name_;
  mutable absl::Mutex mu_;
  std::deque<absl::AnyInvocable<void() &&>> tasks_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace sundesk
