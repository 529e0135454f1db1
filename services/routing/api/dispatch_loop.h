#pragma once

#include <functional>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace sundesk::routing {

// The dispatcher's thread: a full pass (`full`: expire offers, withdraw those of agents off
// shift, route the queue) at once and then every `interval`; between them, a routing pass
// (`route`: just the queue) as soon as Wake() is called — the queue consumer calls it after
// committing queue changes, so a new ticket does not wait for the interval. A Wake() while a
// pass runs makes one more pass after it; several make one.
class DispatchLoop {
 public:
  DispatchLoop(std::string name, absl::Duration interval, std::function<void()> full,
               std::function<void()> route);
  // Waits for a pass in progress to finish.
  ~DispatchLoop();
  DispatchLoop(const DispatchLoop&) = delete;
  DispatchLoop& operator=(const DispatchLoop&) = delete;

  // Cheap and non-blocking.
  void Wake();

 private:
  void Run();

  const absl::Duration interval_;
  const std::function<void()> full_;
  const std::function<void()> route_;
  absl::Mutex mu_;
  bool woken_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace sundesk::routing
