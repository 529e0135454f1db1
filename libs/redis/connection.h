#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "libs/redis/reply.h"

struct redisContext;

namespace sundesk::redis {

struct ConnectOptions {
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string password = "";  // AUTH on connect when set
  int db = 0;                 // SELECT on connect when not 0
  absl::Duration command_timeout = absl::Seconds(1);
};

// One hiredis connection. Not thread-safe (neither is hiredis): one thread at a time,
// which the Pool's lease ensures. After a connection error or a timeout it is broken for
// good (a late reply would be read as the answer to the next command).
class Connection {
 public:
  // Connects, gives up at `deadline` (UNAVAILABLE), then AUTHs and SELECTs as configured.
  static absl::StatusOr<std::unique_ptr<Connection>> Open(const ConnectOptions& options,
                                                          absl::Time deadline);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // One command, argv binary-safe: {"SET", key, value}. An error reply becomes a status
  // (see ErrorReplyStatus); no reply within command_timeout is DEADLINE_EXCEEDED; a lost
  // connection is UNAVAILABLE.
  absl::StatusOr<Reply> Command(absl::Span<const std::string> argv);
  // Several commands sent at once, one round trip. Error replies stay in their slot as
  // kError replies; only connection failures and timeouts fail the whole pipeline.
  absl::StatusOr<std::vector<Reply>> Pipeline(absl::Span<const std::vector<std::string>> commands);

  bool healthy() const;
  // Checks, without a round trip, that the server has not closed this idle connection.
  bool StillConnected() const;

 private:
  Connection(redisContext* context, absl::Duration command_timeout)
      : context_(context), command_timeout_(command_timeout) {}
  absl::Status FailedIo(int saved_errno);
  absl::Status Append(absl::Span<const std::string> argv);
  absl::StatusOr<Reply> ReadReply();

  redisContext* context_;
  absl::Duration command_timeout_;
  bool broken_ = false;
};

}  // namespace sundesk::redis
