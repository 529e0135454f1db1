#include "libs/rpc/server.h"

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"
#include "libs/core/log.h"
#include "libs/rpc/malformed_request.h"

namespace sundesk::rpc {
namespace {

absl::StatusOr<std::string> ReadPem(const std::string& path, absl::string_view what) {
  std::ifstream in(path);
  if (!in) return absl::InvalidArgumentError(absl::StrCat("cannot read ", what, " '", path, "'"));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> Credentials(const TlsFiles& tls) {
  if (tls.cert_file.empty()) return grpc::InsecureServerCredentials();
  if (tls.key_file.empty()) {
    return absl::InvalidArgumentError("TLS certificate given without its private key");
  }
  grpc::SslServerCredentialsOptions ssl;
  auto cert = ReadPem(tls.cert_file, "TLS certificate");
  if (!cert.ok()) return cert.status();
  auto key = ReadPem(tls.key_file, "TLS private key");
  if (!key.ok()) return key.status();
  ssl.pem_key_cert_pairs.push_back({*key, *cert});
  if (!tls.client_ca_file.empty()) {
    auto ca = ReadPem(tls.client_ca_file, "client CA");
    if (!ca.ok()) return ca.status();
    ssl.pem_root_certs = *ca;
    ssl.client_certificate_request = GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
  }
  return grpc::SslServerCredentials(ssl);
}

}  // namespace

Server::Server(ServerOptions options, prometheus::Registry& registry)
    : options_(std::move(options)), metrics_(registry) {}

absl::StatusOr<std::unique_ptr<Server>> Server::Start(ServerOptions options,
                                                      prometheus::Registry& registry) {
  auto creds = Credentials(options.tls);
  if (!creds.ok()) return creds.status();

  std::unique_ptr<Server> self(new Server(std::move(options), registry));
  // Both are process-wide switches read when a builder builds; set before every build.
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();

  grpc::ServerBuilder builder;
  builder.AddListeningPort(self->options_.listen_address, *creds, &self->port_);
  builder.SetMaxReceiveMessageSize(self->options_.max_receive_message_bytes);
  for (auto& [name, service] : self->options_.services) {
    builder.RegisterService(service);
    self->metrics_.InitializeService(name);
  }
  self->metrics_.InitializeService("grpc.health.v1.Health");
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> factories;
  // First, so that metrics and the client see INVALID_ARGUMENT for unparseable requests.
  factories.push_back(MalformedRequestInterceptorFactory());
  factories.push_back(self->metrics_.InterceptorFactory());
  builder.experimental().SetInterceptorCreators(std::move(factories));

  self->server_ = builder.BuildAndStart();
  if (self->server_ == nullptr || self->port_ == 0) {
    return absl::UnavailableError(
        absl::StrCat("gRPC server cannot listen on ", self->options_.listen_address));
  }
  self->SetServing(false);
  self->readiness_thread_ = std::thread([s = self.get()] { s->ReadinessLoop(); });
  log::Info("gRPC server listening",
            {{"address", self->options_.listen_address},
             {"port", self->port_},
             {"tls", self->options_.tls.cert_file.empty() ? "off" : "on"}});
  return self;
}

Server::~Server() { Shutdown(); }

bool Server::serving() const {
  absl::MutexLock lock(&mu_);
  return serving_;
}

void Server::SetServing(bool serving) {
  auto* health = server_->GetHealthCheckService();
  // "" is the whole server; each service has its own entry as grpc.health.v1 prescribes.
  health->SetServingStatus("", serving);
  for (const auto& [name, service] : options_.services) health->SetServingStatus(name, serving);
  absl::MutexLock lock(&mu_);
  serving_ = serving;
}

void Server::ReadinessLoop() {
  std::string last_failure;
  do {
    absl::Status status = absl::OkStatus();
    std::string failed;
    for (const auto& c : options_.readiness_checks) {
      status = c.check();
      if (!status.ok()) {
        failed = c.name;
        break;
      }
    }
    {
      absl::MutexLock lock(&mu_);
      if (shut_down_) return;
    }
    bool was_serving = serving();
    if (status.ok() && !was_serving) {
      SetServing(true);
      log::Info("serving: every dependency answers");
      last_failure.clear();
    } else if (!status.ok()) {
      if (was_serving) SetServing(false);
      std::string why = absl::StrCat(failed, ": ", status.ToString());
      if (why != last_failure) {
        log::Warn("not serving: a dependency does not answer",
                  {{"dependency", failed}, {"status", status.ToString()}});
        last_failure = why;
      }
    }
  } while (!stop_readiness_.WaitForNotificationWithTimeout(options_.readiness_interval));
}

void Server::Shutdown() {
  {
    absl::MutexLock lock(&mu_);
    if (shut_down_) return;
    shut_down_ = true;
    serving_ = false;
  }
  // Health first, so load balancers stop sending before the listener closes.
  server_->GetHealthCheckService()->Shutdown();
  stop_readiness_.Notify();
  if (readiness_thread_.joinable()) readiness_thread_.join();
  for (const auto& hook : options_.before_drain) hook();
  log::Info("draining in-flight calls",
            {{"drain_timeout", absl::FormatDuration(options_.drain_timeout)}});
  server_->Shutdown(absl::ToChronoTime(absl::Now() + options_.drain_timeout));
  server_->Wait();
  log::Info("gRPC server stopped");
}

}  // namespace sundesk::rpc
