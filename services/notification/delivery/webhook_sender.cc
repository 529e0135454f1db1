#include "services/notification/delivery/webhook_sender.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <sys/socket.h>

#include <algorithm>
#include <mutex>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "libs/core/log.h"
#include "services/notification/domain/signature.h"
#include "services/notification/domain/target_rules.h"

namespace sundesk::notification {
namespace {

void GlobalInitOnce() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

CURLM* Multi(void* p) { return static_cast<CURLM*>(p); }

}  // namespace

struct WebhookSender::Transfer {
  CURL* easy = nullptr;
  curl_slist* headers = nullptr;
  std::string endpoint;
  WebhookCall call;
  WebhookDone done;
  std::string retry_after;
  absl::Time sent;
  absl::Time started;
  bool refused = false;
  bool allow_private = false;
  char error[CURL_ERROR_SIZE] = {};

  ~Transfer() {
    if (headers != nullptr) curl_slist_free_all(headers);
    if (easy != nullptr) curl_easy_cleanup(easy);
  }

  static size_t OnHeader(char* data, size_t size, size_t n, void* self) {
    absl::string_view line(data, size * n);
    if (absl::StartsWithIgnoreCase(line, "retry-after:")) {
      line.remove_prefix(12);
      static_cast<Transfer*>(self)->retry_after = std::string(absl::StripAsciiWhitespace(line));
    }
    return size * n;
  }
  static size_t OnBody(char*, size_t size, size_t n, void*) { return size * n; }  // ignored

  // The SSRF guard at connect time: the address DNS actually gave, not the one checked at
  // subscription time.
  static curl_socket_t OnOpenSocket(void* self, curlsocktype, curl_sockaddr* address) {
    auto* t = static_cast<Transfer*>(self);
    if (!t->allow_private) {
      char text[INET6_ADDRSTRLEN] = {};
      const void* raw = nullptr;
      if (address->family == AF_INET) {
        raw = &reinterpret_cast<sockaddr_in*>(&address->addr)->sin_addr;
      } else if (address->family == AF_INET6) {
        raw = &reinterpret_cast<sockaddr_in6*>(&address->addr)->sin6_addr;
      }
      if (raw == nullptr || inet_ntop(address->family, raw, text, sizeof(text)) == nullptr ||
          IsRefusedAddress(text)) {
        t->refused = true;
        return CURL_SOCKET_BAD;
      }
    }
    return ::socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
  }
};

WebhookSender::WebhookSender(const Clock& clock, WebhookSenderOptions options)
    : clock_(clock), options_(std::move(options)), breakers_(clock, options_.breaker) {
  GlobalInitOnce();
  multi_ = curl_multi_init();
  curl_multi_setopt(Multi(multi_), CURLMOPT_MAXCONNECTS, static_cast<long>(options_.max_in_flight));
  thread_ = std::thread([this] { Loop(); });
}

WebhookSender::~WebhookSender() {
  stopping_ = true;
  curl_multi_wakeup(Multi(multi_));
  thread_.join();
  for (void* e : idle_easy_) curl_easy_cleanup(static_cast<CURL*>(e));
  curl_multi_cleanup(Multi(multi_));
}

void WebhookSender::Send(WebhookCall call, WebhookDone done) {
  ++pending_;
  bool first = false;
  {
    absl::MutexLock lock(&mu_);
    first = submitted_.empty();
    submitted_.push_back({std::move(call), std::move(done),
                          options_.on_finished ? absl::Now() : absl::InfinitePast()});
  }
  // The loop takes everything submitted at once: only the first call since it last took
  // them needs to wake it.
  if (first) curl_multi_wakeup(Multi(multi_));
}

void WebhookSender::Complete(const WebhookDone& done, const AttemptResult& result) {
  done(result);
  --pending_;
}

void WebhookSender::Observe(const std::string& event_id, absl::Time sent, absl::Time started) {
  if (options_.on_finished) options_.on_finished(event_id, sent, started, absl::Now());
}

void WebhookSender::Start(std::string endpoint, Queued queued) {
  auto* t = new Transfer();
  t->sent = queued.sent;
  if (options_.on_finished) t->started = absl::Now();
  t->endpoint = std::move(endpoint);
  t->call = std::move(queued.call);
  t->done = std::move(queued.done);
  t->allow_private = options_.allow_private_targets;
  if (idle_easy_.empty()) {
    t->easy = curl_easy_init();
  } else {
    t->easy = static_cast<CURL*>(idle_easy_.back());
    idle_easy_.pop_back();
    curl_easy_reset(t->easy);
  }
  const int64_t now = absl::ToUnixSeconds(clock_.Now());
  for (const std::string& h :
       {std::string("Content-Type: application/json"), std::string("Expect:"),
        absl::StrCat("Sundesk-Signature: ", WebhookSignature(t->call.secret, now, t->call.body)),
        absl::StrCat("Sundesk-Event-Id: ", t->call.event_id),
        absl::StrCat("Sundesk-Event-Type: ", t->call.event_type)}) {
    t->headers = curl_slist_append(t->headers, h.c_str());
  }
  CURL* e = t->easy;
  curl_easy_setopt(e, CURLOPT_URL, t->call.url.c_str());
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  // Straight to the endpoint, never through a proxy named by the environment (http_proxy,
  // …): the connect-time address check below must see the receiver's address, not a
  // proxy's. It also spares libcurl reading those variables for every transfer.
  curl_easy_setopt(e, CURLOPT_PROXY, "");
  curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_POST, 1L);
  curl_easy_setopt(e, CURLOPT_POSTFIELDS, t->call.body.data());
  curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(t->call.body.size()));
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->headers);
  curl_easy_setopt(e, CURLOPT_USERAGENT, options_.user_agent.c_str());
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS,
                   static_cast<long>(absl::ToInt64Milliseconds(options_.timeout)));
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(absl::ToInt64Milliseconds(options_.connect_timeout)));
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, &Transfer::OnHeader);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, t);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &Transfer::OnBody);
  curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, &Transfer::OnOpenSocket);
  curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, t);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->error);
  curl_easy_setopt(e, CURLOPT_PRIVATE, t);
  ++in_flight_;
  ++in_flight_by_endpoint_[t->endpoint];
  active_.insert(t);
  curl_multi_add_handle(Multi(multi_), e);
}

void WebhookSender::StartReady() {
  std::vector<Queued> fresh;
  {
    absl::MutexLock lock(&mu_);
    fresh.swap(submitted_);
  }
  for (Queued& q : fresh) {
    std::string endpoint = EndpointOf(q.call.url);
    waiting_[endpoint].push_back(std::move(q));
  }
  for (auto it = waiting_.begin(); it != waiting_.end();) {
    const std::string& endpoint = it->first;
    std::deque<Queued>& queue = it->second;
    while (!queue.empty() && in_flight_ < options_.max_in_flight &&
           in_flight_by_endpoint_[endpoint] < options_.max_per_endpoint) {
      Queued q = std::move(queue.front());
      queue.pop_front();
      if (!breakers_.Allow(endpoint)) {
        AttemptResult skipped;
        skipped.circuit_open = true;
        skipped.error = absl::StrCat("circuit open for ", endpoint);
        // When the breaker lets a probe through: no point in coming back earlier.
        skipped.retry_after =
            std::max(absl::ZeroDuration(), breakers_.OpenUntil(endpoint) - clock_.Now());
        Observe(q.call.event_id, q.sent, absl::InfinitePast());
        Complete(q.done, skipped);
        continue;
      }
      Start(endpoint, std::move(q));
    }
    it = queue.empty() ? waiting_.erase(it) : std::next(it);
  }
}

void WebhookSender::Finish(Transfer* t, int code) {
  AttemptResult r;
  if (code == CURLE_OK) {
    long status = 0;
    curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
    r.http_status = static_cast<int>(status);
    if (!(status >= 200 && status < 300)) r.error = absl::StrCat("HTTP ", status);
    if (!t->retry_after.empty()) r.retry_after = ParseRetryAfter(t->retry_after, clock_.Now());
  } else if (t->refused) {
    r.refused = true;
    r.error = "refused: the host resolves to a loopback, private or link-local address";
  } else {
    r.transport_error = true;
    r.error = t->error[0] != '\0' ? std::string(t->error)
                                  : std::string(curl_easy_strerror(static_cast<CURLcode>(code)));
    if (code == CURLE_OPERATION_TIMEDOUT) r.error = absl::StrCat("timeout: ", r.error);
  }
  const bool was_open = breakers_.IsOpen(t->endpoint);
  breakers_.Record(t->endpoint, Classify(r));
  // Opening and closing are logged: a stall of an endpoint's deliveries shows its cause.
  if (const bool open = breakers_.IsOpen(t->endpoint); open != was_open) {
    if (open) {
      log::Warn("notification: webhook endpoint's circuit breaker opened",
                {{"endpoint", t->endpoint},
                 {"error", r.error},
                 {"open_ms",
                  absl::ToInt64Milliseconds(breakers_.OpenUntil(t->endpoint) - clock_.Now())}});
    } else {
      log::Info("notification: webhook endpoint's circuit breaker closed",
                {{"endpoint", t->endpoint}});
    }
  }
  --in_flight_;
  --in_flight_by_endpoint_[t->endpoint];
  curl_multi_remove_handle(Multi(multi_), t->easy);
  if (static_cast<int>(idle_easy_.size()) < options_.max_in_flight) {
    idle_easy_.push_back(t->easy);
    t->easy = nullptr;
  }
  active_.erase(t);
  Observe(t->call.event_id, t->sent, t->started);
  WebhookDone done = std::move(t->done);
  delete t;
  Complete(done, r);
}

void WebhookSender::Loop() {
  while (!stopping_) {
    StartReady();
    int running = 0;
    curl_multi_perform(Multi(multi_), &running);
    int left = 0;
    while (CURLMsg* m = curl_multi_info_read(Multi(multi_), &left)) {
      if (m->msg != CURLMSG_DONE) continue;
      Transfer* t = nullptr;
      curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &t);
      Finish(t, m->data.result);
    }
    int fds = 0;
    curl_multi_poll(Multi(multi_), nullptr, 0, 100, &fds);
  }
  // Shutdown: what is still running or waiting completes as a transport error (retried).
  AttemptResult stopped;
  stopped.transport_error = true;
  stopped.error = "sender shutting down";
  for (Transfer* t : std::set<Transfer*>(active_)) {
    curl_multi_remove_handle(Multi(multi_), t->easy);
    active_.erase(t);
    WebhookDone done = std::move(t->done);
    delete t;
    Complete(done, stopped);
  }
  {
    absl::MutexLock lock(&mu_);
    for (Queued& q : submitted_) waiting_["shutdown"].push_back(std::move(q));
    submitted_.clear();
  }
  for (auto& [endpoint, queue] : waiting_) {
    for (Queued& q : queue) Complete(q.done, stopped);
  }
  waiting_.clear();
}

}  // namespace sundesk::notification
