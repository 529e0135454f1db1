#pragma once

#include <atomic>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "libs/core/clock.h"
#include "services/notification/domain/delivery_policy.h"
#include "services/notification/domain/signature.h"

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
// connections kept alive and reused per endpoint. The thread waits in epoll for the
// sockets libcurl asks it to watch (curl_multi_socket_action), so a wake-up costs only
// the ready connections, however many are open. Each call is signed at the moment it
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
  struct Endpoint;
  struct Queued {
    WebhookCall call;
    WebhookDone done;
  };

  // libcurl's CURLMOPT_SOCKETFUNCTION and CURLMOPT_TIMERFUNCTION.
  static int OnSocket(void* easy, int fd, int what, void* self, void* socketp);
  static int OnTimer(void* multi, long timeout_ms, void* self);
  void Loop();
  void StartReady();
  Endpoint& EndpointFor(const std::string& url);
  void Start(Endpoint& endpoint, Queued queued);
  void Act(int fd, int flags);
  void Finish(Transfer* transfer, int curl_code);
  void Complete(WebhookDone& done, const AttemptResult& result);

  const Clock& clock_;
  const WebhookSenderOptions options_;
  void* multi_ = nullptr;  // CURLM*
  int epoll_ = -1;         // the connections libcurl asked to watch, and wake_
  int wake_ = -1;          // eventfd: Send and the destructor wake the loop with it
  std::atomic<bool> stopping_{false};
  std::atomic<int> pending_{0};
  absl::Mutex mu_;
  std::vector<Queued> submitted_ ABSL_GUARDED_BY(mu_);
  // Owned by the loop thread:
  std::vector<Queued> taken_;  // submitted_ swapped out (keeps its capacity)
  // Endpoints by "scheme://host:port", and the URLs seen so far by the endpoint they name
  // (so a call's URL is not parsed again: subscriptions keep their URL).
  absl::flat_hash_map<std::string, std::unique_ptr<Endpoint>> endpoints_;
  absl::flat_hash_map<std::string, Endpoint*> endpoint_of_url_;
  std::vector<Endpoint*> backlog_;  // endpoints with calls waiting for a slot
  int in_flight_ = 0;
  // When libcurl wants CURL_SOCKET_TIMEOUT acted on (its timer), if it does.
  std::optional<absl::Time> timer_;
  // Every transfer made so far, each with its easy handle, reused by later calls (at most
  // max_in_flight exist); idle_ are those not in flight.
  std::vector<std::unique_ptr<Transfer>> transfers_;
  std::vector<Transfer*> idle_;
  WebhookSigner signer_;
  CircuitBreakers breakers_;
  std::thread thread_;
};

}  // namespace sundesk::notification
