#include "libs/redis/script.h"

#include <vector>

#include "absl/strings/str_cat.h"

namespace sundesk::redis {

absl::StatusOr<Reply> Script::Run(Connection& conn, absl::Span<const std::string> keys,
                                  absl::Span<const std::string> args) const {
  std::string sha1;
  {
    absl::MutexLock lock(&mu_);
    sha1 = sha1_;
  }
  if (sha1.empty()) {
    auto loaded = conn.Command({"SCRIPT", "LOAD", source_});
    if (!loaded.ok()) return loaded.status();
    if (loaded->type != ReplyType::kString) {
      return absl::InternalError("redis: SCRIPT LOAD answered " + loaded->DebugString());
    }
    sha1 = loaded->str;
    absl::MutexLock lock(&mu_);
    sha1_ = sha1;
  }
  std::vector<std::string> argv;
  argv.reserve(3 + keys.size() + args.size());
  argv.push_back("EVALSHA");
  argv.push_back(sha1);
  argv.push_back(absl::StrCat(keys.size()));
  argv.insert(argv.end(), keys.begin(), keys.end());
  argv.insert(argv.end(), args.begin(), args.end());
  auto reply = conn.Command(argv);
  if (reply.ok() || ErrorKind(reply.status()) != "NOSCRIPT") return reply;
  argv[0] = "EVAL";
  argv[1] = source_;
  return conn.Command(argv);
}

absl::StatusOr<Reply> Script::Run(Pool& pool, absl::Span<const std::string> keys,
                                  absl::Span<const std::string> args) const {
  auto lease = pool.Acquire();
  if (!lease.ok()) return lease.status();
  return Run(**lease, keys, args);
}

}  // namespace sundesk::redis
