#include "tools/deskctl/call.h"

#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <functional>
#include <memory>

#include "absl/base/thread_annotations.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "google/protobuf/util/json_util.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/support/client_callback.h"

namespace sundesk::deskctl {
namespace {

namespace pb = google::protobuf;

absl::Status ParseJson(const std::string& json, pb::Message* message) {
  pb::util::Status parsed = pb::util::JsonStringToMessage(json, message);
  if (parsed.ok()) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat("request JSON for ",
                                                 message->GetDescriptor()->full_name(), ": ",
                                                 parsed.message().ToString()));
}

std::string ReadAll(int fd) {
  std::string content;
  char chunk[4096];
  while (true) {
    ssize_t n = read(fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return content;
    content.append(chunk, static_cast<size_t>(n));
  }
}

// Reads lines from a descriptor, waking every 100 ms to ask whether to give up, so a call
// that the server has ended does not wait for the user's next line.
class LineReader {
 public:
  explicit LineReader(int fd) : fd_(fd) {}

  // The next line without its '\n'; nullopt at the end of input or once `stop` holds.
  std::optional<std::string> Next(const std::function<bool()>& stop) {
    while (true) {
      if (size_t newline = buffer_.find('\n'); newline != std::string::npos) {
        std::string line = buffer_.substr(0, newline);
        buffer_.erase(0, newline + 1);
        return line;
      }
      if (eof_) {
        if (buffer_.empty()) return std::nullopt;
        return std::exchange(buffer_, {});
      }
      if (stop()) return std::nullopt;
      pollfd ready{.fd = fd_, .events = POLLIN, .revents = 0};
      int polled = poll(&ready, 1, /*timeout_ms=*/100);
      if (polled == 0 || (polled < 0 && errno == EINTR)) continue;
      char chunk[4096];
      ssize_t n = polled < 0 ? -1 : read(fd_, chunk, sizeof chunk);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        eof_ = true;
      } else {
        buffer_.append(chunk, static_cast<size_t>(n));
      }
    }
  }

 private:
  int fd_;
  std::string buffer_;
  bool eof_ = false;
};

// Every kind of method is called as a bidi stream, which is what each of them is on the
// wire; unary and server-streaming calls simply write one request and half-close. gRPC
// runs the On* reactions on its own threads, one at a time; the calling thread writes.
class CallReactor final : public grpc::ClientBidiReactor<pb::Message, pb::Message> {
 public:
  CallReactor(std::unique_ptr<pb::Message> response, const pb::util::JsonPrintOptions& print,
              std::ostream& out)
      : response_(std::move(response)), print_(print), out_(out) {}

  void OnReadDone(bool ok) override {
    if (!ok) {
      absl::MutexLock lock(&mu_);
      reads_over_ = true;
      return;
    }
    std::string json;
    pb::util::Status printed = pb::util::MessageToJsonString(*response_, &json, print_);
    if (printed.ok()) {
      out_ << json << std::endl;  // flushed: a stream's lines must show as they come
    } else {
      absl::MutexLock lock(&mu_);
      if (print_error_.ok()) {
        print_error_ = absl::DataLossError(
            absl::StrCat("cannot print a response as JSON: ", printed.message().ToString()));
      }
    }
    response_->Clear();
    StartRead(response_.get());
  }

  void OnWriteDone(bool ok) override {
    absl::MutexLock lock(&mu_);
    write_settled_ = true;
    if (!ok) write_failed_ = true;
  }

  void OnDone(const grpc::Status& status) override {
    absl::MutexLock lock(&mu_);
    status_ = status;
    done_ = true;
  }

  // From the calling thread, after StartCall and under a hold. Returns once the write is
  // done; false when the stream takes no more requests.
  bool Write(const pb::Message& request) {
    {
      absl::MutexLock lock(&mu_);
      if (write_failed_ || reads_over_) return false;
      write_settled_ = false;
    }
    StartWrite(&request);
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(&write_settled_));
    return !write_failed_;
  }

  // The server has ended the call (or it failed): nothing more will be read.
  bool ReadsOver() {
    absl::MutexLock lock(&mu_);
    return reads_over_;
  }

  grpc::Status AwaitDone() {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(&done_));
    return status_;
  }

  absl::Status PrintError() {
    absl::MutexLock lock(&mu_);
    return print_error_;
  }

  pb::Message* ResponseMessage() { return response_.get(); }

 private:
  std::unique_ptr<pb::Message> response_;
  const pb::util::JsonPrintOptions print_;
  std::ostream& out_;

  absl::Mutex mu_;
  bool write_settled_ ABSL_GUARDED_BY(mu_) = true;
  bool write_failed_ ABSL_GUARDED_BY(mu_) = false;
  bool reads_over_ ABSL_GUARDED_BY(mu_) = false;
  bool done_ ABSL_GUARDED_BY(mu_) = false;
  grpc::Status status_ ABSL_GUARDED_BY(mu_);
  absl::Status print_error_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

absl::Status Call(const Connection& connection, Schema& schema, const CallRequest& request,
                  int in_fd, std::ostream& out) {
  absl::StatusOr<const pb::MethodDescriptor*> found = schema.FindMethod(request.method);
  if (!found.ok()) return found.status();
  const pb::MethodDescriptor& method = **found;

  // Client and bidi streams take their requests line by line unless given exactly one.
  bool requests_from_lines = method.client_streaming() &&
                             (!request.request_json.has_value() || *request.request_json == "-");
  std::unique_ptr<pb::Message> single_request;
  if (!requests_from_lines) {
    std::string json = request.request_json.value_or("{}");
    if (json == "-") json = ReadAll(in_fd);
    single_request = schema.NewMessage(method.input_type());
    if (absl::Status parsed = ParseJson(json, single_request.get()); !parsed.ok()) return parsed;
  }

  grpc::ClientContext context;
  bool streaming = method.client_streaming() || method.server_streaming();
  connection.Prepare(context, /*with_deadline=*/!streaming || request.timeout_given);
  pb::util::JsonPrintOptions print;
  print.preserve_proto_field_names = true;
  print.always_print_primitive_fields = request.emit_defaults;
  CallReactor reactor(schema.NewMessage(method.output_type()), print, out);
  grpc::TemplatedGenericStub<pb::Message, pb::Message> stub(connection.channel());
  stub.PrepareBidiStreamingCall(
      &context, absl::StrCat("/", method.service()->full_name(), "/", method.name()),
      grpc::StubOptions(), &reactor);
  reactor.StartRead(reactor.ResponseMessage());

  absl::Status local_error;
  if (!requests_from_lines) {
    reactor.StartWriteLast(single_request.get(), grpc::WriteOptions());
    reactor.StartCall();
  } else {
    reactor.AddHold();
    reactor.StartCall();
    LineReader lines(in_fd);
    std::unique_ptr<pb::Message> next = schema.NewMessage(method.input_type());
    int line_number = 0;
    while (std::optional<std::string> line = lines.Next([&] { return reactor.ReadsOver(); })) {
      ++line_number;
      if (absl::StripAsciiWhitespace(*line).empty()) continue;
      next->Clear();
      if (absl::Status parsed = ParseJson(*line, next.get()); !parsed.ok()) {
        local_error = absl::InvalidArgumentError(
            absl::StrCat("stdin line ", line_number, ": ", parsed.message()));
        context.TryCancel();
        break;
      }
      if (!reactor.Write(*next)) break;
    }
    if (local_error.ok()) reactor.StartWritesDone();
    reactor.RemoveHold();
  }
  grpc::Status status = reactor.AwaitDone();
  if (!local_error.ok()) return local_error;
  if (!status.ok()) return FromGrpc(status);
  return reactor.PrintError();
}

}  // namespace sundesk::deskctl
