#include "tests/support/http_sink.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace sundesk::testing {
namespace {

const char* Reason(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 204:
      return "No Content";
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 408:
      return "Request Timeout";
    case 410:
      return "Gone";
    case 429:
      return "Too Many Requests";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    default:
      return "Status";
  }
}

bool SendAll(int fd, const std::string& data) {
  size_t sent = 0;
  while (sent < data.size()) {
    ssize_t n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return false;
    sent += static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

absl::StatusOr<std::unique_ptr<HttpSink>> HttpSink::Start(Responder responder) {
  std::unique_ptr<HttpSink> sink(new HttpSink());
  sink->responder_ =
      responder ? std::move(responder) : [](const HttpSinkRequest&) { return HttpSinkResponse{}; };
  sink->listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (sink->listen_fd_ < 0) return absl::InternalError("http sink: socket failed");
  int one = 1;
  ::setsockopt(sink->listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (::bind(sink->listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::listen(sink->listen_fd_, 512) != 0) {
    return absl::InternalError(absl::StrCat("http sink: bind/listen: ", std::strerror(errno)));
  }
  socklen_t len = sizeof(addr);
  ::getsockname(sink->listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  sink->port_ = ntohs(addr.sin_port);
  sink->acceptor_ = std::thread([s = sink.get()] { s->AcceptLoop(); });
  return sink;
}

HttpSink::~HttpSink() {
  stopping_ = true;
  ::shutdown(listen_fd_, SHUT_RDWR);
  if (acceptor_.joinable()) acceptor_.join();
  ::close(listen_fd_);
  std::vector<std::thread> threads;
  {
    absl::MutexLock lock(&mu_);
    for (int fd : open_fds_) ::shutdown(fd, SHUT_RDWR);
    threads.swap(connections_);
  }
  for (auto& t : threads) t.join();
}

std::string HttpSink::Url(const std::string& path) const {
  return absl::StrCat("http://127.0.0.1:", port_, path);
}

std::vector<HttpSinkRequest> HttpSink::Requests() const {
  absl::MutexLock lock(&mu_);
  return requests_;
}

size_t HttpSink::RequestCount() const {
  absl::MutexLock lock(&mu_);
  return requests_.size();
}

bool HttpSink::WaitForRequests(size_t n, absl::Duration timeout) const {
  absl::MutexLock lock(&mu_);
  auto enough = [&]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return requests_.size() >= n; };
  return mu_.AwaitWithTimeout(absl::Condition(&enough), timeout);
}

void HttpSink::AcceptLoop() {
  while (!stopping_) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    absl::MutexLock lock(&mu_);
    if (stopping_) {
      ::close(fd);
      break;
    }
    open_fds_.push_back(fd);
    connections_.emplace_back([this, fd] { Serve(fd); });
  }
}

void HttpSink::Serve(int fd) {
  std::string buffer;
  char chunk[16384];
  while (!stopping_) {
    // Read one request: headers up to the blank line, then Content-Length bytes.
    size_t header_end;
    while ((header_end = buffer.find("\r\n\r\n")) == std::string::npos) {
      ssize_t n = ::recv(fd, chunk, sizeof(chunk), 0);
      if (n <= 0) goto done;
      buffer.append(chunk, static_cast<size_t>(n));
    }
    {
      HttpSinkRequest request;
      std::vector<std::string> lines =
          absl::StrSplit(absl::string_view(buffer).substr(0, header_end), "\r\n");
      std::vector<std::string> start = absl::StrSplit(lines[0], ' ');
      if (start.size() >= 2) {
        request.method = start[0];
        request.path = start[1];
      }
      for (size_t i = 1; i < lines.size(); ++i) {
        size_t colon = lines[i].find(':');
        if (colon == std::string::npos) continue;
        request.headers[absl::AsciiStrToLower(lines[i].substr(0, colon))] =
            std::string(absl::StripAsciiWhitespace(lines[i].substr(colon + 1)));
      }
      size_t length = 0;
      if (auto it = request.headers.find("content-length"); it != request.headers.end()) {
        (void)absl::SimpleAtoi(it->second, &length);
      }
      while (buffer.size() < header_end + 4 + length) {
        ssize_t n = ::recv(fd, chunk, sizeof(chunk), 0);
        if (n <= 0) goto done;
        buffer.append(chunk, static_cast<size_t>(n));
      }
      request.body = buffer.substr(header_end + 4, length);
      buffer.erase(0, header_end + 4 + length);
      request.received = absl::Now();

      HttpSinkResponse response = responder_(request);
      {
        absl::MutexLock lock(&mu_);
        requests_.push_back(request);
      }
      if (response.delay > absl::ZeroDuration()) {
        absl::Time until = absl::Now() + response.delay;
        while (!stopping_ && absl::Now() < until) {
          pollfd p{fd, POLLIN, 0};
          (void)::poll(&p, 1, 20);
          if (p.revents & (POLLHUP | POLLERR)) goto done;
          if (p.revents & POLLIN) {  // the client gave up (or sent more): see if closed
            ssize_t n = ::recv(fd, chunk, sizeof(chunk), MSG_PEEK);
            if (n <= 0) goto done;
          }
        }
        if (stopping_) goto done;
      }
      std::string out = absl::StrCat("HTTP/1.1 ", response.status, " ", Reason(response.status),
                                     "\r\nContent-Length: ", response.body.size(), "\r\n");
      for (const auto& [k, v] : response.headers) absl::StrAppend(&out, k, ": ", v, "\r\n");
      absl::StrAppend(&out, "\r\n", response.body);
      if (!SendAll(fd, out)) goto done;
    }
  }
done:
  // Under the lock, so the destructor never shuts down a number reused by a newer socket.
  absl::MutexLock lock(&mu_);
  open_fds_.erase(std::remove(open_fds_.begin(), open_fds_.end(), fd), open_fds_.end());
  ::close(fd);
}

}  // namespace sundesk::testing
