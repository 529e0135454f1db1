#include "tools/deskctl/connection.h"

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/channel_arguments.h"

namespace sundesk::deskctl {
namespace {

absl::StatusOr<std::string> ReadPem(const std::string& flag, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::InvalidArgumentError(absl::StrCat(flag, ": cannot read ", path));
  std::ostringstream content;
  content << in.rdbuf();
  return content.str();
}

}  // namespace

absl::StatusOr<std::unique_ptr<Connection>> Connection::Open(const Options& options) {
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  bool tls = options.tls || !options.tls_ca_path.empty() || !options.tls_cert_path.empty() ||
             !options.tls_server_name.empty();
  if (tls) {
    grpc::SslCredentialsOptions ssl;  // empty roots: the system's
    if (!options.tls_ca_path.empty()) {
      absl::StatusOr<std::string> ca = ReadPem("--tls-ca", options.tls_ca_path);
      if (!ca.ok()) return ca.status();
      ssl.pem_root_certs = *ca;
    }
    if (!options.tls_cert_path.empty()) {
      absl::StatusOr<std::string> cert = ReadPem("--tls-cert", options.tls_cert_path);
      if (!cert.ok()) return cert.status();
      absl::StatusOr<std::string> key = ReadPem("--tls-key", options.tls_key_path);
      if (!key.ok()) return key.status();
      ssl.pem_cert_chain = *cert;
      ssl.pem_private_key = *key;
    }
    credentials = grpc::SslCredentials(ssl);
  } else {
    credentials = grpc::InsecureChannelCredentials();
  }
  grpc::ChannelArguments args;
  // A page of 500 tickets with 64 KiB descriptions is far past gRPC's 4 MiB default.
  args.SetMaxReceiveMessageSize(-1);
  if (!options.tls_server_name.empty()) args.SetSslTargetNameOverride(options.tls_server_name);
  return std::unique_ptr<Connection>(
      new Connection(options, grpc::CreateCustomChannel(options.addr, credentials, args)));
}

void Connection::Prepare(grpc::ClientContext& context, bool with_deadline) const {
  if (!options_.api_key.empty()) {
    context.AddMetadata("authorization", absl::StrCat("Bearer ", options_.api_key));
  }
  if (with_deadline && options_.timeout > absl::ZeroDuration()) {
    context.set_deadline(absl::ToChronoTime(absl::Now() + options_.timeout));
  }
}

absl::Status FromGrpc(const grpc::Status& status) {
  // gRPC and absl share the status code numbering.
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
}

}  // namespace sundesk::deskctl
