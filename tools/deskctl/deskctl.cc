#include "tools/deskctl/deskctl.h"

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "tools/deskctl/call.h"
#include "tools/deskctl/connection.h"
#include "tools/deskctl/options.h"
#include "tools/deskctl/schema.h"

namespace sundesk::deskctl {
namespace {

namespace health = grpc::health::v1;

absl::Status PrintLines(const absl::StatusOr<std::vector<std::string>>& lines, std::ostream& out) {
  if (!lines.ok()) return lines.status();
  for (const std::string& line : *lines) out << line << '\n';
  return absl::OkStatus();
}

absl::StatusOr<int> Health(const Connection& connection, const std::string& service,
                           std::ostream& out) {
  health::HealthCheckRequest request;
  request.set_service(service);
  health::HealthCheckResponse response;
  grpc::ClientContext context;
  connection.Prepare(context, /*with_deadline=*/true);
  grpc::Status status =
      health::Health::NewStub(connection.channel())->Check(&context, request, &response);
  if (!status.ok()) return FromGrpc(status);
  out << health::HealthCheckResponse::ServingStatus_Name(response.status()) << '\n';
  return response.status() == health::HealthCheckResponse::SERVING ? 0 : kExitNotServing;
}

// The exit code of a command that ran, or the error that stopped it.
absl::StatusOr<int> Dispatch(const Options& options, int in_fd, std::ostream& out) {
  absl::StatusOr<std::unique_ptr<Connection>> connection = Connection::Open(options);
  if (!connection.ok()) return connection.status();
  if (options.command == "health") {
    return Health(**connection, options.args.empty() ? "" : options.args[0], out);
  }
  Schema schema(**connection);
  absl::Status done;
  if (options.command == "list") {
    done = PrintLines(
        options.args.empty() ? schema.ListServices() : schema.ListMethods(options.args[0]), out);
  } else if (options.command == "describe") {
    absl::StatusOr<std::string> text = schema.Describe(options.args[0]);
    done = text.status();
    if (text.ok()) out << *text;
  } else if (options.command == "call") {
    CallRequest request{.method = options.args[0],
                        .request_json = std::nullopt,
                        .emit_defaults = options.emit_defaults,
                        .timeout_given = options.timeout_given};
    if (options.args.size() > 1) request.request_json = options.args[1];
    done = Call(**connection, schema, request, in_fd, out);
  }
  if (!done.ok()) return done;
  return 0;
}

}  // namespace

int Run(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
        int in_fd, std::ostream& out, std::ostream& err) {
  absl::StatusOr<Options> options = ParseOptions(argv, env);
  if (!options.ok()) {
    err << "deskctl: " << options.status().message() << "\n\n" << Usage();
    return kExitUsage;
  }
  if (options->help) {
    out << Usage();
    return 0;
  }
  absl::StatusOr<int> exit_code = Dispatch(*options, in_fd, out);
  out.flush();
  if (exit_code.ok()) return *exit_code;
  err << "ERROR: " << absl::StatusCodeToString(exit_code.status().code()) << ": "
      << exit_code.status().message() << std::endl;
  return static_cast<int>(exit_code.status().code());
}

}  // namespace sundesk::deskctl
