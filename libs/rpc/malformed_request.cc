#include "libs/rpc/malformed_request.h"

#include <deque>
#include <mutex>
#include <set>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "google/protobuf/stubs/logging.h"
#include "libs/core/log.h"

namespace sundesk::rpc {
namespace {

using grpc::experimental::InterceptionHookPoints;

// The field of the last UTF-8 failure protobuf reported on this thread. gRPC parses a
// request and then runs the POST_RECV_MESSAGE interceptors on the same thread.
thread_local std::string last_invalid_utf8_field;  // NOLINT(runtime/string)

google::protobuf::LogHandler* previous_handler = nullptr;

void OnProtobufLog(google::protobuf::LogLevel level, const char* filename, int line,
                   const std::string& message) {
  // "String field 'pkg.Message.field' contains invalid UTF-8 data when parsing a protocol
  // buffer. Use the 'bytes' type if you intend to send raw bytes. "
  constexpr absl::string_view kPrefix = "String field '";
  if (absl::StartsWith(message, kPrefix) && absl::StrContains(message, "invalid UTF-8") &&
      absl::StrContains(message, "when parsing")) {
    absl::string_view rest = absl::string_view(message).substr(kPrefix.size());
    last_invalid_utf8_field = std::string(rest.substr(0, rest.find('\'')));
    return;
  }
  if (previous_handler != nullptr) previous_handler(level, filename, line, message);
}

// "/sundesk.ticket.v1.TicketService/CreateTicket" → that method's descriptor, if it is one
// this binary knows.
// Runs once per call (the interceptor is made per call), so each thread remembers its
// answers instead of asking the descriptor pool, which locks, every time.
const google::protobuf::MethodDescriptor* MethodOf(absl::string_view path) {
  thread_local absl::flat_hash_map<std::string, const google::protobuf::MethodDescriptor*> known;
  auto it = known.find(path);
  if (it != known.end()) return it->second;
  const google::protobuf::MethodDescriptor* method = nullptr;
  if (absl::StartsWith(path, "/")) {
    std::string name = absl::StrReplaceAll(path.substr(1), {{"/", "."}});
    method = google::protobuf::DescriptorPool::generated_pool()->FindMethodByName(name);
  }
  if (known.size() < 1024) known.emplace(std::string(path), method);  // unknown paths too
  return method;
}

class MalformedRequestInterceptor final : public grpc::experimental::Interceptor {
 public:
  explicit MalformedRequestInterceptor(grpc::experimental::ServerRpcInfo* info)
      : method_(MethodOf(info->method())),
        // Only these read their one request before the handler runs; a stream's reads end
        // with "no message" too, which is no parse failure.
        single_request_(info->type() == grpc::experimental::ServerRpcInfo::Type::UNARY ||
                        info->type() == grpc::experimental::ServerRpcInfo::Type::SERVER_STREAMING) {
  }

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (method_ != nullptr && single_request_ &&
        methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_MESSAGE) &&
        methods->GetRecvMessage() == nullptr) {
      // gRPC could not parse the request; on this thread, just now.
      explanation_ = Explain();
    }
    if (!explanation_.empty() &&
        methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS)) {
      methods->ModifySendStatus(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, explanation_));
    }
    methods->Proceed();
  }

 private:
  std::string Explain() const {
    std::string field = std::exchange(last_invalid_utf8_field, "");
    if (!field.empty()) {
      return absl::StrCat(FieldPathIn(*method_->input_type(), field), ": not valid UTF-8");
    }
    return absl::StrCat("request: not a valid ", method_->input_type()->full_name(), " message");
  }

  const google::protobuf::MethodDescriptor* method_;
  const bool single_request_;
  std::string explanation_;
};

class Factory final : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    return new MalformedRequestInterceptor(info);
  }
};

}  // namespace

std::string FieldPathIn(const google::protobuf::Descriptor& request,
                        absl::string_view field_full_name) {
  // Breadth first over message-typed fields, so the shortest path wins; each type once.
  std::deque<std::pair<const google::protobuf::Descriptor*, std::string>> queue = {{&request, ""}};
  std::set<const google::protobuf::Descriptor*> seen = {&request};
  while (!queue.empty()) {
    auto [type, prefix] = queue.front();
    queue.pop_front();
    for (int i = 0; i < type->field_count(); ++i) {
      const google::protobuf::FieldDescriptor* f = type->field(i);
      std::string path = prefix.empty() ? f->name() : absl::StrCat(prefix, ".", f->name());
      if (f->full_name() == field_full_name) return path;
      const google::protobuf::Descriptor* sub = f->message_type();
      if (sub != nullptr && !f->is_map() && seen.insert(sub).second) {
        queue.emplace_back(sub, path);
      }
      if (f->is_map()) {  // a map's value: path "custom_fields"
        const google::protobuf::FieldDescriptor* value = sub->map_value();
        const google::protobuf::FieldDescriptor* key = sub->map_key();
        if (key->full_name() == field_full_name || value->full_name() == field_full_name) {
          return path;
        }
        if (value->message_type() != nullptr && seen.insert(value->message_type()).second) {
          queue.emplace_back(value->message_type(), path);
        }
      }
    }
  }
  size_t dot = field_full_name.rfind('.');
  return std::string(dot == absl::string_view::npos ? field_full_name
                                                    : field_full_name.substr(dot + 1));
}

void CaptureProtobufParseErrors() {
  static std::once_flag once;
  std::call_once(once, [] { previous_handler = google::protobuf::SetLogHandler(&OnProtobufLog); });
}

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
MalformedRequestInterceptorFactory() {
  CaptureProtobufParseErrors();
  return std::make_unique<Factory>();
}

}  // namespace sundesk::rpc
