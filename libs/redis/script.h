#pragma once

#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/types/span.h"
#include "libs/redis/connection.h"
#include "libs/redis/pool.h"
#include "libs/redis/reply.h"

namespace sundesk::redis {

// A Lua script run by its SHA1: SCRIPT LOAD once, then EVALSHA. When the server does not
// know the script (NOSCRIPT: restarted, failed over, SCRIPT FLUSH) it runs it with EVAL,
// which also puts it back in the server's cache. Thread-safe; keep one per script.
//
//   const redis::Script kClaimCapacity(R"lua(
//     local load = tonumber(redis.call('HGET', KEYS[1], 'load') or '0')
//     if load >= tonumber(ARGV[1]) then return 0 end
//     redis.call('HINCRBY', KEYS[1], 'load', 1)
//     return 1
//   )lua");
//   SUNDESK_ASSIGN_OR_RETURN(redis::Reply claimed,
//                            kClaimCapacity.Run(pool, {AgentKey(agent)}, {"3"}));
class Script {
 public:
  explicit Script(std::string source) : source_(std::move(source)) {}

  absl::StatusOr<Reply> Run(Connection& conn, absl::Span<const std::string> keys,
                            absl::Span<const std::string> args) const;
  absl::StatusOr<Reply> Run(Pool& pool, absl::Span<const std::string> keys,
                            absl::Span<const std::string> args) const;

  const std::string& source() const { return source_; }

 private:
  const std::string source_;
  mutable absl::Mutex mu_;
  mutable std::string sha1_ ABSL_GUARDED_BY(mu_);  // from SCRIPT LOAD; empty until then
};

}  // namespace sundesk::redis
