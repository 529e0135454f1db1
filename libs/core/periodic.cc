#include "libs/core/periodic.h"

#include <pthread.h>

#include <utility>

namespace sundesk {

Periodic::Periodic(std::string name, absl::Duration interval, std::function<void()> fn)
    : thread_([this, interval, fn = std::move(fn)] {
        do {
          fn();
        } while (!stop_.WaitForNotificationWithTimeout(interval));
      }) {
  pthread_setname_np(thread_.native_handle(), name.substr(0, 15).c_str());
}

Periodic::~Periodic() {
  stop_.Notify();
  thread_.join();
}

}  // namespace sundesk
