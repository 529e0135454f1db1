#include "tests/support/devkafka_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace sundesk::testing {
namespace {

bool FileExists(const std::string& path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0;
}

}  // namespace

absl::StatusOr<std::unique_ptr<DevKafka>> DevKafka::Start(std::vector<std::string> extra_args) {
  auto kafka = std::unique_ptr<DevKafka>(new DevKafka());
  const std::string bootstrap_file = kafka->dir_.path() + "/kafka.bootstrap";
  const std::string control_file = kafka->dir_.path() + "/kafka.control";
  ProcessOptions options;
  options.argv = {BinDir() + "/devkafka", "--bootstrap-file=" + bootstrap_file,
                  "--control-file=" + control_file, "--control-port=0"};
  for (auto& a : extra_args) options.argv.push_back(std::move(a));
  options.log_path = kafka->dir_.path() + "/devkafka.log";
  auto process = Subprocess::Start(std::move(options));
  if (!process.ok()) return process.status();
  kafka->process_ = std::move(*process);

  // devkafka writes the bootstrap file last (after topics and the control port), by rename.
  bool ready = WaitFor([&] { return FileExists(bootstrap_file) || !kafka->process_->Running(); },
                       absl::Seconds(20));
  if (!ready || !FileExists(bootstrap_file)) {
    return absl::UnavailableError(
        absl::StrCat("devkafka did not start (", BinDir(), "/devkafka); its log:\n", kafka->Log()));
  }
  kafka->bootstrap_ = std::string(absl::StripAsciiWhitespace(ReadFile(bootstrap_file)));
  if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(ReadFile(control_file)),
                        &kafka->control_port_)) {
    return absl::InternalError("devkafka wrote no control port");
  }
  return kafka;
}

DevKafka::~DevKafka() {
  if (process_ != nullptr) process_->Stop();
}

int DevKafka::Stop() { return process_->Stop(); }

std::string DevKafka::Log() const { return process_ != nullptr ? process_->Log() : ""; }

absl::StatusOr<std::string> DevKafka::Control(absl::string_view command) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::InternalError("socket failed");
  timeval tv{.tv_sec = 10, .tv_usec = 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(control_port_));
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return absl::UnavailableError(
        absl::StrCat("devkafka control port ", control_port_, ": ", strerror(errno)));
  }
  std::string line = absl::StrCat(command, "\n");
  if (send(fd, line.data(), line.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(line.size())) {
    close(fd);
    return absl::UnavailableError("devkafka control: send failed");
  }
  std::string answer;
  char c;
  while (true) {
    ssize_t n = recv(fd, &c, 1, 0);
    if (n <= 0) {
      close(fd);
      return absl::UnavailableError(absl::StrCat("devkafka control: no answer to '", command, "'"));
    }
    if (c == '\n') break;
    answer.push_back(c);
  }
  close(fd);
  return answer;
}

absl::Status DevKafka::ControlOk(absl::string_view command) {
  auto answer = Control(command);
  if (!answer.ok()) return answer.status();
  if (*answer != "ok") {
    return absl::FailedPreconditionError(absl::StrCat("devkafka '", command, "': ", *answer));
  }
  return absl::OkStatus();
}

}  // namespace sundesk::testing
