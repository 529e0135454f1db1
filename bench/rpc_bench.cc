// What sundesk's gRPC plumbing (libs/rpc: authentication, go-grpc-prometheus metrics
// interceptor, status mapping) costs per unary call, against a bare gRPC callback server
// serving the same method, both over loopback in this process.
#include <thread>

#include "benchmark/benchmark.h"
#include "grpcpp/grpcpp.h"
#include "libs/rpc/auth.h"
#include "libs/rpc/client.h"
#include "libs/rpc/handler.h"
#include "libs/rpc/server.h"
#include "rpc_test.grpc.pb.h"

namespace sundesk {
namespace {

using rpctest::v1::EchoRequest;
using rpctest::v1::EchoResponse;
using rpctest::v1::EchoService;

class BareEcho final : public EchoService::CallbackService {
  grpc::ServerUnaryReactor* Echo(grpc::CallbackServerContext* ctx, const EchoRequest* req,
                                 EchoResponse* resp) override {
    resp->set_message(req->message());
    auto* r = ctx->DefaultReactor();
    r->Finish(grpc::Status::OK);
    return r;
  }
};

class SundeskEcho final : public EchoService::CallbackService {
 public:
  explicit SundeskEcho(const rpc::Authenticator& auth) : auth_(auth) {}
  grpc::ServerUnaryReactor* Echo(grpc::CallbackServerContext* ctx, const EchoRequest* req,
                                 EchoResponse* resp) override {
    return rpc::Unary(ctx, auth_, [&](const rpc::Principal& p) {
      resp->set_message(req->message());
      return absl::OkStatus();
    });
  }

 private:
  const rpc::Authenticator& auth_;
};

// Unary calls from `state.threads()` client threads sharing one channel.
void RunEchoLoop(benchmark::State& state, const std::shared_ptr<grpc::Channel>& channel) {
  auto stub = EchoService::NewStub(channel);
  EchoRequest req;
  req.set_message("ping");
  EchoResponse resp;
  for (auto _ : state) {
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", "Bearer bench-key");
    grpc::Status st = stub->Echo(&ctx, req, &resp);
    if (!st.ok()) state.SkipWithError(st.error_message().c_str());
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_UnaryEcho_Baseline(benchmark::State& state) {
  static BareEcho* service = new BareEcho();
  static int port = [] {
    int p = 0;
    grpc::ServerBuilder b;
    b.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &p);
    b.RegisterService(service);
    static auto server = b.BuildAndStart();
    return p;
  }();
  static auto channel =
      grpc::CreateChannel("127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials());
  RunEchoLoop(state, channel);
}

void BM_UnaryEcho_Sundesk(benchmark::State& state) {
  static auto* auth = [] {
    auto* a = new rpc::StaticKeyAuthenticator();
    a->Add("bench-key", {.role = rpc::Role::kAdmin});
    return a;
  }();
  static auto* registry = new prometheus::Registry();
  static SundeskEcho* service = new SundeskEcho(*auth);
  static int port = [] {
    auto s =
        rpc::Server::Start({.services = {{"sundesk.rpctest.v1.EchoService", service}}}, *registry);
    static auto server = std::move(*s);
    return server->port();
  }();
  static auto channel =
      grpc::CreateChannel("127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials());
  RunEchoLoop(state, channel);
}

BENCHMARK(BM_UnaryEcho_Baseline)->Name("UnaryEcho/baseline")->Threads(4)->UseRealTime();
BENCHMARK(BM_UnaryEcho_Sundesk)->Name("UnaryEcho/sundesk_rpc")->Threads(4)->UseRealTime();

}  // namespace
}  // namespace sundesk
