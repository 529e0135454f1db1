#include "services/routing/api/dispatch_loop.h"

#include <pthread.h>

#include <utility>

namespace sundesk::routing {

DispatchLoop::DispatchLoop(std::string name, absl::Duration interval, std::function<void()> full,
                           std::function<void()> route)
    : interval_(interval), full_(std::move(full)), route_(std::move(route)) {
  thread_ = std::thread([this] { Run(); });
  pthread_setname_np(thread_.native_handle(), name.substr(0, 15).c_str());
}

DispatchLoop::~DispatchLoop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  thread_.join();
}

void DispatchLoop::Wake() {
  absl::MutexLock lock(&mu_);
  woken_ = true;
}

void DispatchLoop::Run() {
  // Monotonic enough for scheduling: only the interval between full passes depends on it.
  absl::Time next_full = absl::InfinitePast();
  for (;;) {
    bool full = false;
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this] { return woken_ || stopping_; };
      const absl::Duration wait = next_full - absl::Now();
      if (wait > absl::ZeroDuration()) mu_.AwaitWithTimeout(absl::Condition(&ready), wait);
      if (stopping_) return;
      woken_ = false;
      full = absl::Now() >= next_full;
    }
    if (full) {
      next_full = absl::Now() + interval_;
      full_();
    } else {
      route_();
    }
  }
}

}  // namespace sundesk::routing
