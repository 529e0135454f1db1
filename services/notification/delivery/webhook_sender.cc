#include "services/notification/delivery/webhook_sender.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <mutex>

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

// Endpoints and URLs remembered at most (each a few hundred bytes); past that the idle
// endpoints are forgotten.
constexpr size_t kMaxRemembered = 65536;

constexpr char kContentType[] = "Content-Type: application/json";
constexpr char kNoExpect[] = "Expect:";
constexpr char kSignatureName[] = "Sundesk-Signature: ";
constexpr char kEventIdName[] = "Sundesk-Event-Id: ";
constexpr char kEventTypeName[] = "Sundesk-Event-Type: ";

}  // namespace

struct WebhookSender::Endpoint {
  std::string name;  // scheme://host:port
  std::deque<Queued> waiting;
  int in_flight = 0;
  bool in_backlog = false;
};

// One easy handle and everything a call needs besides its strings, reused call after
// call: the options that do not change are set once, when the handle is made, and the
// headers are a list of this struct's own nodes over its own buffers (no allocation per
// call once the buffers have grown to the calls' sizes).
struct WebhookSender::Transfer {
  CURL* easy = nullptr;
  Endpoint* endpoint = nullptr;
  WebhookCall call;
  WebhookDone done;
  bool active = false;
  std::string retry_after;
  bool refused = false;
  bool allow_private = false;
  char error[CURL_ERROR_SIZE] = {};
  char signature[sizeof(kSignatureName) + WebhookSigner::kMaxSize] = {};
  std::string event_id_header;
  std::string event_type_header;
  curl_slist headers[5] = {};

  ~Transfer() {
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

  // The options every call of this handle shares.
  void SetUp(const WebhookSenderOptions& options) {
    easy = curl_easy_init();
    allow_private = options.allow_private_targets;
    CURL* e = easy;
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    // Straight to the endpoint, never through a proxy named by the environment
    // (http_proxy, …): the connect-time address check below must see the receiver's
    // address, not a proxy's. It also spares libcurl reading those variables per transfer.
    curl_easy_setopt(e, CURLOPT_PROXY, "");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(e, CURLOPT_USERAGENT, options.user_agent.c_str());
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS,
                     static_cast<long>(absl::ToInt64Milliseconds(options.timeout)));
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                     static_cast<long>(absl::ToInt64Milliseconds(options.connect_timeout)));
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, &Transfer::OnHeader);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, this);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &Transfer::OnBody);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, &Transfer::OnOpenSocket);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, this);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, error);
    curl_easy_setopt(e, CURLOPT_PRIVATE, this);
  }

  // This call's URL, body and headers (signed now).
  void Prepare(WebhookSigner& signer, int64_t now) {
    retry_after.clear();
    refused = false;
    error[0] = '\0';
    char* p = std::copy_n(kSignatureName, sizeof(kSignatureName) - 1, signature);
    const absl::string_view value = signer.Sign(call.secret, now, call.body, p);
    p[value.size()] = '\0';
    event_id_header.assign(kEventIdName);
    event_id_header.append(call.event_id);
    event_type_header.assign(kEventTypeName);
    event_type_header.append(call.event_type);
    char* values[] = {const_cast<char*>(kContentType), const_cast<char*>(kNoExpect), signature,
                      event_id_header.data(), event_type_header.data()};
    for (int i = 0; i < 5; ++i) {
      headers[i].data = values[i];
      headers[i].next = i + 1 < 5 ? &headers[i + 1] : nullptr;
    }
    curl_easy_setopt(easy, CURLOPT_URL, call.url.c_str());
    curl_easy_setopt(easy, CURLOPT_POSTFIELDS, call.body.data());
    curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(call.body.size()));
  }
};

WebhookSender::WebhookSender(const Clock& clock, WebhookSenderOptions options)
    : clock_(clock), options_(std::move(options)), breakers_(clock, options_.breaker) {
  GlobalInitOnce();
  epoll_ = epoll_create1(EPOLL_CLOEXEC);
  wake_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = wake_;
  epoll_ctl(epoll_, EPOLL_CTL_ADD, wake_, &ev);
  multi_ = curl_multi_init();
  CURLM* m = Multi(multi_);
  curl_multi_setopt(m, CURLMOPT_MAXCONNECTS, static_cast<long>(options_.max_in_flight));
  curl_multi_setopt(m, CURLMOPT_SOCKETFUNCTION, &WebhookSender::OnSocket);
  curl_multi_setopt(m, CURLMOPT_SOCKETDATA, this);
  curl_multi_setopt(m, CURLMOPT_TIMERFUNCTION, &WebhookSender::OnTimer);
  curl_multi_setopt(m, CURLMOPT_TIMERDATA, this);
  thread_ = std::thread([this] { Loop(); });
}

WebhookSender::~WebhookSender() {
  stopping_ = true;
  const uint64_t one = 1;
  (void)!::write(wake_, &one, sizeof(one));
  thread_.join();
  // Closing the cached connections tells OnSocket to stop watching them: epoll_ is still
  // open. The easy handles go after the multi handle (none is attached to it any more).
  curl_multi_cleanup(Multi(multi_));
  transfers_.clear();
  ::close(wake_);
  ::close(epoll_);
}

void WebhookSender::Send(WebhookCall call, WebhookDone done) {
  ++pending_;
  bool first = false;
  {
    absl::MutexLock lock(&mu_);
    first = submitted_.empty();
    submitted_.push_back({std::move(call), std::move(done)});
  }
  // The loop takes everything submitted at once: only the first call since it last took
  // them needs to wake it.
  if (first) {
    const uint64_t one = 1;
    (void)!::write(wake_, &one, sizeof(one));
  }
}

void WebhookSender::Complete(WebhookDone& done, const AttemptResult& result) {
  done(result);
  --pending_;
}

// libcurl asks to watch `fd` for `what` (CURL_POLL_IN/OUT/INOUT), or to stop (REMOVE).
// `socketp` is what curl_multi_assign gave this socket: non-null once it is in epoll.
int WebhookSender::OnSocket(void*, int fd, int what, void* self, void* socketp) {
  auto* sender = static_cast<WebhookSender*>(self);
  if (what == CURL_POLL_REMOVE) {
    // The socket may already be closed (then epoll dropped it itself).
    epoll_ctl(sender->epoll_, EPOLL_CTL_DEL, fd, nullptr);
    return 0;
  }
  epoll_event ev{};
  ev.events =
      ((what & CURL_POLL_IN) != 0 ? EPOLLIN : 0u) | ((what & CURL_POLL_OUT) != 0 ? EPOLLOUT : 0u);
  ev.data.fd = fd;
  if (socketp == nullptr) {
    if (epoll_ctl(sender->epoll_, EPOLL_CTL_ADD, fd, &ev) != 0 && errno == EEXIST) {
      epoll_ctl(sender->epoll_, EPOLL_CTL_MOD, fd, &ev);
    }
    curl_multi_assign(Multi(sender->multi_), fd, sender);
  } else if (epoll_ctl(sender->epoll_, EPOLL_CTL_MOD, fd, &ev) != 0 && errno == ENOENT) {
    epoll_ctl(sender->epoll_, EPOLL_CTL_ADD, fd, &ev);
  }
  return 0;
}

// libcurl wants CURL_SOCKET_TIMEOUT acted on after `timeout_ms` (0: at once; -1: never).
// Acted on by the loop, not here (libcurl must not be re-entered from its callback).
int WebhookSender::OnTimer(void*, long timeout_ms, void* self) {
  auto* sender = static_cast<WebhookSender*>(self);
  if (timeout_ms < 0) {
    sender->timer_.reset();
  } else {
    sender->timer_ = absl::Now() + absl::Milliseconds(timeout_ms);
  }
  return 0;
}

WebhookSender::Endpoint& WebhookSender::EndpointFor(const std::string& url) {
  if (auto it = endpoint_of_url_.find(url); it != endpoint_of_url_.end()) return *it->second;
  if (endpoints_.size() >= kMaxRemembered || endpoint_of_url_.size() >= kMaxRemembered) {
    // Forget the idle endpoints (their breakers live in breakers_) and every URL.
    endpoint_of_url_.clear();
    for (auto it = endpoints_.begin(); it != endpoints_.end();) {
      const Endpoint& e = *it->second;
      if (e.in_flight == 0 && e.waiting.empty() && !e.in_backlog) {
        endpoints_.erase(it++);
      } else {
        ++it;
      }
    }
  }
  std::string name = EndpointOf(url);
  std::unique_ptr<Endpoint>& endpoint = endpoints_[name];
  if (endpoint == nullptr) {
    endpoint = std::make_unique<Endpoint>();
    endpoint->name = std::move(name);
  }
  endpoint_of_url_.emplace(url, endpoint.get());
  return *endpoint;
}

void WebhookSender::Start(Endpoint& endpoint, Queued queued) {
  Transfer* t = nullptr;
  if (idle_.empty()) {
    transfers_.push_back(std::make_unique<Transfer>());
    t = transfers_.back().get();
    t->SetUp(options_);
  } else {
    t = idle_.back();
    idle_.pop_back();
  }
  t->endpoint = &endpoint;
  t->call = std::move(queued.call);
  t->done = std::move(queued.done);
  t->active = true;
  t->Prepare(signer_, absl::ToUnixSeconds(clock_.Now()));
  ++in_flight_;
  ++endpoint.in_flight;
  curl_multi_add_handle(Multi(multi_), t->easy);
}

void WebhookSender::StartReady() {
  {
    absl::MutexLock lock(&mu_);
    taken_.swap(submitted_);
  }
  for (Queued& q : taken_) {
    Endpoint& endpoint = EndpointFor(q.call.url);
    endpoint.waiting.push_back(std::move(q));
    if (!endpoint.in_backlog) {
      endpoint.in_backlog = true;
      backlog_.push_back(&endpoint);
    }
  }
  taken_.clear();
  for (size_t i = 0; i < backlog_.size();) {
    Endpoint& endpoint = *backlog_[i];
    while (!endpoint.waiting.empty() && in_flight_ < options_.max_in_flight &&
           endpoint.in_flight < options_.max_per_endpoint) {
      Queued q = std::move(endpoint.waiting.front());
      endpoint.waiting.pop_front();
      if (!breakers_.Allow(endpoint.name)) {
        AttemptResult skipped;
        skipped.circuit_open = true;
        skipped.error = absl::StrCat("circuit open for ", endpoint.name);
        // When the breaker lets a probe through: no point in coming back earlier.
        skipped.retry_after =
            std::max(absl::ZeroDuration(), breakers_.OpenUntil(endpoint.name) - clock_.Now());
        Complete(q.done, skipped);
        continue;
      }
      Start(endpoint, std::move(q));
    }
    if (endpoint.waiting.empty()) {
      endpoint.in_backlog = false;
      backlog_[i] = backlog_.back();
      backlog_.pop_back();
    } else {
      ++i;
    }
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
  const std::string& endpoint = t->endpoint->name;
  const bool was_open = breakers_.IsOpen(endpoint);
  breakers_.Record(endpoint, Classify(r));
  // Opening and closing are logged: a stall of an endpoint's deliveries shows its cause.
  if (const bool open = breakers_.IsOpen(endpoint); open != was_open) {
    if (open) {
      log::Warn(
          "notification: webhook endpoint's circuit breaker opened",
          {{"endpoint", endpoint},
           {"error", r.error},
           {"open_ms", absl::ToInt64Milliseconds(breakers_.OpenUntil(endpoint) - clock_.Now())}});
    } else {
      log::Info("notification: webhook endpoint's circuit breaker closed",
                {{"endpoint", endpoint}});
    }
  }
  --in_flight_;
  --t->endpoint->in_flight;
  curl_multi_remove_handle(Multi(multi_), t->easy);
  t->active = false;
  t->endpoint = nullptr;
  WebhookDone done = std::move(t->done);
  t->done = nullptr;
  idle_.push_back(t);
  Complete(done, r);
}

// Tells libcurl what happened on `fd` (or that its timer ran out), then finishes the
// transfers that completed.
void WebhookSender::Act(int fd, int flags) {
  int running = 0;
  curl_multi_socket_action(Multi(multi_), fd, flags, &running);
  int left = 0;
  while (CURLMsg* m = curl_multi_info_read(Multi(multi_), &left)) {
    if (m->msg != CURLMSG_DONE) continue;
    Transfer* t = nullptr;
    curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &t);
    Finish(t, m->data.result);
  }
}

void WebhookSender::Loop() {
  constexpr int kMaxEvents = 256;
  epoll_event events[kMaxEvents];
  while (!stopping_) {
    StartReady();
    // Started transfers set the timer to 0: then the wait below does not block, but it
    // still runs, so the sockets' events are handled on every turn (acting on the timer
    // and going round again without it let a steady stream of new calls starve the
    // responses of the transfers already running).
    int wait_ms = 100;
    if (timer_) {
      const absl::Duration left = *timer_ - absl::Now();
      wait_ms = static_cast<int>(std::clamp<int64_t>(
          absl::ToInt64Microseconds(left + absl::Microseconds(999)) / 1000, 0, wait_ms));
    }
    const int n = epoll_wait(epoll_, events, kMaxEvents, wait_ms);
    for (int i = 0; i < n; ++i) {
      const int fd = events[i].data.fd;
      if (fd == wake_) {
        uint64_t count = 0;
        (void)!::read(wake_, &count, sizeof(count));
        continue;
      }
      const uint32_t e = events[i].events;
      Act(fd, ((e & EPOLLIN) != 0 ? CURL_CSELECT_IN : 0) |
                  ((e & EPOLLOUT) != 0 ? CURL_CSELECT_OUT : 0) |
                  ((e & (EPOLLERR | EPOLLHUP)) != 0 ? CURL_CSELECT_ERR : 0));
    }
    if (timer_ && *timer_ <= absl::Now()) {
      timer_.reset();
      Act(CURL_SOCKET_TIMEOUT, 0);
    }
  }
  // Shutdown: what is still running or waiting completes as a transport error (retried).
  AttemptResult stopped;
  stopped.transport_error = true;
  stopped.error = "sender shutting down";
  for (const std::unique_ptr<Transfer>& t : transfers_) {
    if (!t->active) continue;
    curl_multi_remove_handle(Multi(multi_), t->easy);
    t->active = false;
    WebhookDone done = std::move(t->done);
    t->done = nullptr;
    Complete(done, stopped);
  }
  {
    absl::MutexLock lock(&mu_);
    taken_.swap(submitted_);
  }
  for (Queued& q : taken_) Complete(q.done, stopped);
  taken_.clear();
  for (auto& [name, endpoint] : endpoints_) {
    for (Queued& q : endpoint->waiting) Complete(q.done, stopped);
    endpoint->waiting.clear();
  }
}

}  // namespace sundesk::notification
