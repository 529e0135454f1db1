#pragma once

#include <functional>
#include <string>
#include <thread>

#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

namespace sundesk {

// Runs `fn` on its own thread at once and then every `interval` until destroyed; the
// destructor wakes the thread and waits for a run in progress to finish. For housekeeping
// (purging expired rows), where a missed run only delays the next one.
//
//   Periodic purge("idempotency purge", absl::Minutes(5), [&] { (void)store.Purge(); });
class Periodic {
 public:
  Periodic(std::string name, absl::Duration interval, std::function<void()> fn);
  ~Periodic();
  Periodic(const Periodic&) = delete;
  Periodic& operator=(const Periodic&) = delete;

 private:
  absl::Notification stop_;
  std::thread thread_;
};

}  // namespace sundesk
