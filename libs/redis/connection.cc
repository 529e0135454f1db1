#include "libs/redis/connection.h"

#include <hiredis/hiredis.h>
#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace sundesk::redis {
namespace {

timeval SocketTimeout(absl::Duration d) {
  d = std::max(d, absl::Milliseconds(1));
  return absl::ToTimeval(d);
}

Reply Convert(const redisReply* r) {
  Reply out;
  switch (r->type) {
    case REDIS_REPLY_STRING:
      out.type = ReplyType::kString;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_STATUS:
      out.type = ReplyType::kStatus;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ERROR:
      out.type = ReplyType::kError;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_INTEGER:
      out.type = ReplyType::kInteger;
      out.integer = r->integer;
      break;
    case REDIS_REPLY_ARRAY:
      out.type = ReplyType::kArray;
      out.elements.reserve(r->elements);
      for (size_t i = 0; i < r->elements; ++i) out.elements.push_back(Convert(r->element[i]));
      break;
    default:
      out.type = ReplyType::kNil;
      break;
  }
  return out;
}

struct FreeReply {
  void operator()(void* r) const { freeReplyObject(r); }
};
using OwnedReply = std::unique_ptr<void, FreeReply>;

}  // namespace

absl::StatusOr<std::unique_ptr<Connection>> Connection::Open(const ConnectOptions& options,
                                                             absl::Time deadline) {
  absl::Duration left = deadline - absl::Now();
  if (left <= absl::ZeroDuration()) return absl::UnavailableError("redis: no time to connect");
  redisContext* context =
      redisConnectWithTimeout(options.host.c_str(), options.port, SocketTimeout(left));
  if (context == nullptr) return absl::ResourceExhaustedError("redis: out of memory connecting");
  std::unique_ptr<Connection> conn(new Connection(context, options.command_timeout));
  if (context->err != 0) {
    return absl::UnavailableError(absl::StrCat("redis: cannot connect to ", options.host, ":",
                                               options.port, ": ", context->errstr));
  }
  if (redisSetTimeout(context, SocketTimeout(options.command_timeout)) != REDIS_OK ||
      redisEnableKeepAlive(context) != REDIS_OK) {
    return absl::UnavailableError(
        absl::StrCat("redis: cannot configure socket: ", context->errstr));
  }
  if (!options.password.empty()) {
    auto auth = conn->Command({"AUTH", options.password});
    if (!auth.ok()) return auth.status();
  }
  if (options.db != 0) {
    auto select = conn->Command({"SELECT", absl::StrCat(options.db)});
    if (!select.ok()) return select.status();
  }
  return conn;
}

Connection::~Connection() { redisFree(context_); }

bool Connection::healthy() const { return !broken_ && context_->err == 0; }

bool Connection::StillConnected() const {
  if (!healthy()) return false;
  // Outside pub/sub the server never speaks unasked: anything readable on an idle
  // connection is the close (restart, timeout, CLIENT KILL).
  pollfd p{context_->fd, POLLIN, 0};
  return poll(&p, 1, 0) == 0;
}

absl::Status Connection::FailedIo(int saved_errno) {
  broken_ = true;
  std::string message = context_->errstr;
  // hiredis 0.14 reports the socket's receive timeout as a plain I/O error (EAGAIN).
  if (context_->err == REDIS_ERR_IO &&
      (saved_errno == EAGAIN || saved_errno == EWOULDBLOCK || message == std::strerror(EAGAIN))) {
    return absl::DeadlineExceededError(
        absl::StrCat("redis: no reply within ", absl::FormatDuration(command_timeout_)));
  }
  if (context_->err == REDIS_ERR_IO || context_->err == REDIS_ERR_EOF) {
    return absl::UnavailableError(absl::StrCat("redis: connection lost: ", message));
  }
  return absl::InternalError(absl::StrCat("redis: ", message));
}

absl::Status Connection::Append(absl::Span<const std::string> argv) {
  if (argv.empty()) return absl::InvalidArgumentError("redis: empty command");
  std::vector<const char*> args;
  std::vector<size_t> lengths;
  args.reserve(argv.size());
  lengths.reserve(argv.size());
  for (const std::string& a : argv) {
    args.push_back(a.data());
    lengths.push_back(a.size());
  }
  if (redisAppendCommandArgv(context_, static_cast<int>(argv.size()), args.data(),
                             lengths.data()) != REDIS_OK) {
    return FailedIo(errno);
  }
  return absl::OkStatus();
}

absl::StatusOr<Reply> Connection::ReadReply() {
  void* raw = nullptr;
  if (redisGetReply(context_, &raw) != REDIS_OK || raw == nullptr) return FailedIo(errno);
  OwnedReply owned(raw);
  return Convert(static_cast<const redisReply*>(raw));
}

absl::StatusOr<Reply> Connection::Command(absl::Span<const std::string> argv) {
  if (!healthy()) return absl::UnavailableError("redis: connection is broken");
  if (absl::Status st = Append(argv); !st.ok()) return st;
  auto reply = ReadReply();
  if (reply.ok() && reply->is_error()) return ErrorReplyStatus(reply->str);
  return reply;
}

absl::StatusOr<std::vector<Reply>> Connection::Pipeline(
    absl::Span<const std::vector<std::string>> commands) {
  if (!healthy()) return absl::UnavailableError("redis: connection is broken");
  for (const std::vector<std::string>& argv : commands) {
    if (absl::Status st = Append(argv); !st.ok()) return st;
  }
  std::vector<Reply> replies;
  replies.reserve(commands.size());
  for (size_t i = 0; i < commands.size(); ++i) {
    auto reply = ReadReply();
    if (!reply.ok()) return reply.status();
    replies.push_back(*std::move(reply));
  }
  return replies;
}

}  // namespace sundesk::redis
