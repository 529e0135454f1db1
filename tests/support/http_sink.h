#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace sundesk::testing {

// One HTTP/1.1 request the sink received. Header names are lowercased.
struct HttpSinkRequest {
  std::string method;
  std::string path;
  std::map<std::string, std::string> headers;
  std::string body;
  absl::Time received = absl::InfinitePast();
};

struct HttpSinkResponse {
  int status = 200;
  std::map<std::string, std::string> headers = {};
  std::string body = "";
  // Holds the answer this long (a slow or dead endpoint); cut short when the sink stops.
  absl::Duration delay = absl::ZeroDuration();
};

// A small HTTP/1.1 server on 127.0.0.1:<free port> for webhook tests: keep-alive,
// Content-Length bodies, one thread per connection. Every request is recorded, then
// answered by the responder (default: 200). Stops (and joins its threads) on destruction.
class HttpSink {
 public:
  using Responder = std::function<HttpSinkResponse(const HttpSinkRequest&)>;

  static absl::StatusOr<std::unique_ptr<HttpSink>> Start(Responder responder = nullptr);
  ~HttpSink();
  HttpSink(const HttpSink&) = delete;
  HttpSink& operator=(const HttpSink&) = delete;

  int port() const { return port_; }
  // "http://127.0.0.1:<port><path>"
  std::string Url(const std::string& path = "/") const;

  std::vector<HttpSinkRequest> Requests() const;
  size_t RequestCount() const;
  // Waits until at least `n` requests arrived or `timeout` passed.
  bool WaitForRequests(size_t n, absl::Duration timeout) const;

 private:
  HttpSink() = default;
  void AcceptLoop();
  void Serve(int fd);

  Responder responder_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread acceptor_;
  mutable absl::Mutex mu_;
  std::vector<HttpSinkRequest> requests_ ABSL_GUARDED_BY(mu_);
  std::vector<std::thread> connections_ ABSL_GUARDED_BY(mu_);
  std::vector<int> open_fds_ ABSL_GUARDED_BY(mu_);
};

}  // namespace sundesk::testing
