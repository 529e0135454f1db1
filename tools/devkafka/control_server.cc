#include "tools/devkafka/control_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"
#include "libs/core/log.h"

namespace sundesk::devkafka {
namespace {

// A longer line is not a command; the connection is answered once and closed.
constexpr size_t kMaxLineBytes = 4096;

struct Peer {
  int fd = -1;
  std::string in;
  std::string out;
  bool closing = false;  // close once `out` is written
};

void WriteAll(int fd, absl::string_view data) {
  while (!data.empty()) {
    ssize_t n = write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
}

// Splits complete lines off `buffer`, appending one answer per line to `answers`.
// Returns false when the buffer holds an over-long line.
bool AnswerLines(std::string& buffer, const ControlServer::Handler& handler, std::string& answers) {
  size_t start = 0;
  for (size_t nl; (nl = buffer.find('\n', start)) != std::string::npos; start = nl + 1) {
    absl::string_view line(buffer.data() + start, nl - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    absl::StrAppend(&answers, handler(line), "\n");
  }
  buffer.erase(0, start);
  return buffer.size() <= kMaxLineBytes;
}

}  // namespace

absl::StatusOr<std::unique_ptr<ControlServer>> ControlServer::Start(int port, int input_fd,
                                                                    int reply_fd, Handler handler) {
  auto server = std::unique_ptr<ControlServer>(new ControlServer());
  server->handler_ = std::move(handler);
  server->input_fd_ = input_fd;
  server->reply_fd_ = reply_fd;

  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return absl::InternalError(absl::StrCat("socket: ", strerror(errno)));
  server->listen_fd_ = fd;
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    return absl::UnavailableError(
        absl::StrCat("control port 127.0.0.1:", port, ": ", strerror(errno)));
  }
  if (listen(fd, 16) != 0) return absl::InternalError(absl::StrCat("listen: ", strerror(errno)));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  server->port_ = ntohs(addr.sin_port);

  int wake[2];
  if (pipe2(wake, O_CLOEXEC) != 0) return absl::InternalError("pipe failed");
  server->wake_read_fd_ = wake[0];
  server->wake_write_fd_ = wake[1];
  server->thread_ = std::thread([s = server.get()] { s->Loop(); });
  return server;
}

ControlServer::~ControlServer() {
  if (wake_write_fd_ >= 0) close(wake_write_fd_);  // the loop sees POLLHUP and returns
  if (thread_.joinable()) thread_.join();
  if (wake_read_fd_ >= 0) close(wake_read_fd_);
  if (listen_fd_ >= 0) close(listen_fd_);
}

void ControlServer::Loop() {
  std::vector<Peer> peers;
  std::string input_buffer;
  int input_fd = input_fd_;
  while (true) {
    // Fixed slots first: 0 wake, 1 listener, 2 input (fd -1 when absent: poll skips it).
    std::vector<pollfd> fds = {
        {wake_read_fd_, POLLIN, 0}, {listen_fd_, POLLIN, 0}, {input_fd, POLLIN, 0}};
    for (const Peer& p : peers) {
      fds.push_back({p.fd, static_cast<int16_t>(p.out.empty() ? POLLIN : POLLIN | POLLOUT), 0});
    }
    if (poll(fds.data(), fds.size(), -1) < 0) {
      if (errno == EINTR) continue;
      log::Error("devkafka control: poll failed", {{"error", strerror(errno)}});
      break;
    }
    if (fds[0].revents != 0) break;

    if (fds[2].revents != 0) {
      char buf[4096];
      ssize_t n = read(input_fd, buf, sizeof(buf));
      if (n > 0) {
        input_buffer.append(buf, static_cast<size_t>(n));
        std::string answers;
        if (!AnswerLines(input_buffer, handler_, answers)) {
          absl::StrAppend(&answers, "error line too long\n");
          input_buffer.clear();
        }
        WriteAll(reply_fd_, answers);
      } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
        input_fd = -1;  // end of input: keep serving TCP until told to stop
      }
    }

    for (size_t i = 0; i < peers.size(); ++i) {
      Peer& p = peers[i];
      int16_t ev = fds[3 + i].revents;
      if (ev & POLLIN) {
        char buf[4096];
        ssize_t n = read(p.fd, buf, sizeof(buf));
        if (n > 0) {
          p.in.append(buf, static_cast<size_t>(n));
          if (!AnswerLines(p.in, handler_, p.out)) {
            absl::StrAppend(&p.out, "error line too long\n");
            p.in.clear();
            p.closing = true;
          }
        } else if (n == 0) {
          p.closing = true;  // the client is done sending; still answer what it sent
        } else if (errno != EINTR && errno != EAGAIN) {
          p.closing = true;
          p.out.clear();
        }
      } else if (ev & (POLLHUP | POLLERR)) {
        p.closing = true;
        p.out.clear();
      }
      if (!p.out.empty()) {
        ssize_t n = write(p.fd, p.out.data(), p.out.size());
        if (n > 0) {
          p.out.erase(0, static_cast<size_t>(n));
        } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
          p.out.clear();
          p.closing = true;
        }
      }
    }
    // After the peer loop: fds[3 + i] covers only the peers that were polled.
    if (fds[1].revents & POLLIN) {
      int c;
      while ((c = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK)) >= 0) {
        peers.push_back({c, "", "", false});
      }
    }

    std::erase_if(peers, [](Peer& p) {
      if (p.closing && p.out.empty()) {
        close(p.fd);
        return true;
      }
      return false;
    });
  }
  for (Peer& p : peers) close(p.fd);
}

}  // namespace sundesk::devkafka
