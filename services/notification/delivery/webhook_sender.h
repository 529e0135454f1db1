#pragma once

#include <atomic>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "libs/core/clock.h"
#include "services/notification/domain/delivery_policy.h"

namespace sundesk::notification {

struct WebhookSenderOptions {
  absl::Duration timeout = absl::Seconds(10);  // a whole attempt, connect included
  absl::Duration connect_timeout = absl::Seconds(5);
  int max_in_flight = 2048;   // transfers at once, all endpoints together
  int max_per_endpoint = 16;  // transfers at once to one scheme://host:port
  // Off: connections to loopback, private and link-local addresses are refused at connect
  // time too (after DNS), so a host that re-resolves to an internal address is not reached.
  bool allow_private_targets = false;
  BreakerOptions breaker = {};
  std::string user_agent = "sundesk-notification/1";
  // Called on the sender's thread as each call finishes, with when it was given to Send,
  // when its transfer started (InfinitePast if it never did) and now: where a call waited
  // (the benchmark's stage timing). Keep it short; empty by default.
  std::function<void(const std::string& event_id, absl::Time sent, absl::Time started,
                     absl::Time finished)>
      on_finished = nullptr;
};

// One signed POST of an event's JSON to a subscriber.
struct WebhookCall {
  std::string url;
  std::string secret;
  std::string event_id;
  std::string event_type;
  std::string body;  // the Event as protobuf JSON
};

// Runs on the sender's thread: keep it short, never block in it.
using WebhookDone = std::function<void(const AttemptResult&)>;

// Sends webhooks with libcurl's multi interface: one thread, many transfers in flight,
// connections kept alive and reused per endpoint. Each call is signed at the moment it
// starts (Sundesk-Signature: t=<unix>,v1=<HMAC>), with Sundesk-Event-Id and
// Sundesk-Event-Type headers. Per endpoint at most `max_per_endpoint` run at once (the
// rest wait in that endpoint's queue, not in others'), and a circuit breaker answers calls
// to an endpoint that keeps failing at once with `circuit_open`, so a dead endpoint holds
// neither threads nor slots that healthy ones need. Send is thread-safe.
class WebhookSender {
 public:
  WebhookSender(const Clock& clock, WebhookSenderOptions options);
  // Stops the thread; calls not finished yet complete with a transport error.
  ~WebhookSender();
  WebhookSender(const WebhookSender&) = delete;
  WebhookSender& operator=(const WebhookSender&) = delete;

  void Send(WebhookCall call, WebhookDone done);

  // Calls accepted and not completed yet (queued or in flight).
  int Pending() const { return pending_.load(); }

 private:
  struct Transfer;
  struct Queued {
    WebhookCall call;
    WebhookDone done;
    absl::Time sent;  // when Send took it
  };

  void Loop();
  void StartReady();
  void Start(std::string endpoint, Queued queued);
  void Finish(Transfer* transfer, int curl_code);
  void Complete(const WebhookDone& done, const AttemptResult& result);
  void Observe(const std::string& event_id, absl::Time sent, absl::Time started);

  const Clock& clock_;
  const WebhookSenderOptions options_;
  void* multi_ = nullptr;  // CURLM*
  std::atomic<bool> stopping_{false};
  std::atomic<int> pending_{0};
  absl::Mutex mu_;
  std::vector<Queued> submitted_ ABSL_GUARDED_BY(mu_);
  // Owned by the loop thread:
  std::map<std::string, std::deque<Queued>> waiting_;  // by endpoint
  std::map<std::string, int> in_flight_by_endpoint_;
  int in_flight_ = 0;
  std::set<Transfer*> active_;
  // Finished transfers' easy handles, reset and reused by the next ones (at most
  // max_in_flight kept): cheaper than a new handle per call. Connections live in the
  // multi handle either way.
  std::vector<void*> idle_easy_;  // CURL*
  CircuitBreakers breakers_;
  std::thread thread_;
};

}  // namespace sundesk::notification
