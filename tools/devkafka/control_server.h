#pragma once

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace sundesk::devkafka {

// A line protocol server: every line received is answered with exactly one line, the
// handler's result. Serves any number of TCP clients on 127.0.0.1 and, optionally, a
// stdin-like fd (answers go to `reply_fd`). All I/O runs on one thread, so the handler is
// never called concurrently with itself.
class ControlServer {
 public:
  using Handler = std::function<std::string(absl::string_view line)>;

  // `port` 0 picks a free port. `input_fd` < 0 means no stream input. End of input on
  // `input_fd` stops reading it and nothing else (devkafka often runs with stdin at
  // /dev/null).
  static absl::StatusOr<std::unique_ptr<ControlServer>> Start(int port, int input_fd, int reply_fd,
                                                              Handler handler);
  ~ControlServer();
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  int port() const { return port_; }

 private:
  ControlServer() = default;
  void Loop();

  Handler handler_;
  int listen_fd_ = -1;
  int wake_read_fd_ = -1;  // a byte here (or its closing) ends the loop
  int wake_write_fd_ = -1;
  int input_fd_ = -1;
  int reply_fd_ = -1;
  int port_ = 0;
  std::thread thread_;
};

}  // namespace sundesk::devkafka
