#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "tests/support/process.h"

namespace sundesk::testing {

// The built devkafka (tools/devkafka) as a child process: 3 mock brokers on loopback with
// the standard sundesk topics (6 partitions each). Stopped by the destructor, also when a
// test failed.
class DevKafka {
 public:
  // The mock answers a waiting fetch only when fetch.wait.max.ms runs out: consumers
  // against it use this. 5 ms: a hop's median ~2-3 ms and its p99 ~5 ms shorter than at
  // 10 ms (services/routing/README.md); below 5 ms the extra fetches cost more than they save.
  static constexpr absl::Duration kFetchWaitMax = absl::Milliseconds(5);
  // kFetchWaitMax as a service's SUNDESK_KAFKA_FETCH_WAIT value ("5ms").
  static std::string FetchWaitFlag() {
    return absl::StrCat(absl::ToInt64Milliseconds(kFetchWaitMax), "ms");
  }

  // `extra_args` go to devkafka as they are, e.g. {"--topic=orders:3"}.
  static absl::StatusOr<std::unique_ptr<DevKafka>> Start(std::vector<std::string> extra_args = {});
  ~DevKafka();
  DevKafka(const DevKafka&) = delete;
  DevKafka& operator=(const DevKafka&) = delete;

  const std::string& bootstrap() const { return bootstrap_; }
  int control_port() const { return control_port_; }

  // One line of devkafka's control protocol ("broker-down 1", "produce-errors 3
  // NOT_LEADER_FOR_PARTITION"); returns the answer line ("ok" or "error <why>").
  absl::StatusOr<std::string> Control(absl::string_view command);
  // Control() that is an error unless the answer is "ok".
  absl::Status ControlOk(absl::string_view command);

  // SIGTERM and wait; returns the exit code.
  int Stop();
  // devkafka's own log (stdout and stderr).
  std::string Log() const;

 private:
  DevKafka() = default;
  TempDir dir_;
  std::unique_ptr<Subprocess> process_;
  std::string bootstrap_;
  int control_port_ = 0;
};

}  // namespace sundesk::testing
