#include "services/sla/api/sla_service_handlers.h"

#include "libs/rpc/handler.h"

namespace sundesk::sla {

grpc::ServerUnaryReactor* SlaServiceHandlers::CreateCalendar(
    grpc::CallbackServerContext* context, const ::sundesk::sla::v1::CreateCalendarRequest* request,
    ::sundesk::sla::v1::Calendar* response) {
  return rpc::NotImplementedUnary(context, auth_, "sundesk.sla.v1.SlaService/CreateCalendar");
}

grpc::ServerUnaryReactor* SlaServiceHandlers::GetCalendar(
    grpc::CallbackServerContext* context, const ::sundesk::sla::v1::GetCalendarRequest* request,
    ::sundesk::sla::v1::Calendar* response) {
  return rpc::NotImplementedUnary(context, auth_, "sundesk.sla.v1.SlaService/GetCalendar");
}

grpc::ServerUnaryReactor* SlaServiceHandlers::ListCalendars(
    grpc::CallbackServerContext* context, const ::sundesk::sla::v1::ListCalendarsRequest* request,
    ::sundesk::sla::v1::ListCalendarsResponse* response) {
  return rpc::NotImplementedUnary(context, auth_, "sundesk.sla.v1.SlaService/ListCalendars");
}

grpc::ServerUnaryReactor* SlaServiceHandlers::UpdateCalendar(
    grpc::CallbackServerContext* context, const ::sundesk::sla::v1::UpdateCalendarRequest* request,
    ::sundesk::sla::v1::Calendar* response) {
  return rpc::NotImplementedUnary(context, auth_, "sundesk.sla.v1.SlaService/UpdateCalendar");
}

grpc::ServerUnaryReactor* SlaServiceHandlers::CreatePolicy(
    grpc::CallbackServerContext* context, const ::sundesk::sla::v1::CreatePolicyRequest* request,
    ::sundesk::sla::v1::Policy* response) {
  return rpc::NotImplementedUnary(context, auth_, "sundesk.sla.v1.SlaService/CreatePolicy");
}

grpc::ServerUnaryReactor* SlaServiceHandlers::ListPolicies(
    grpc::CallbackServerContext* context, const ::sundesk::sla::v1::ListPoliciesRequest* request,
    ::sundesk::sla::v1::ListPoliciesResponse* response) {
  return rpc::NotImplementedUnary(context, auth_, "sundesk.sla.v1.SlaService/ListPolicies");
}

grpc::ServerUnaryReactor* SlaServiceHandlers::UpdatePolicy(
    grpc::CallbackServerContext* context, const ::sundesk::sla::v1::UpdatePolicyRequest* request,
    ::sundesk::sla::v1::Policy* response) {
  return rpc::NotImplementedUnary(context, auth_, "sundesk.sla.v1.SlaService/UpdatePolicy");
}

grpc::ServerUnaryReactor* SlaServiceHandlers::GetTicketSla(
    grpc::CallbackServerContext* context, const ::sundesk::sla::v1::GetTicketSlaRequest* request,
    ::sundesk::sla::v1::TicketSla* response) {
  return rpc::NotImplementedUnary(context, auth_, "sundesk.sla.v1.SlaService/GetTicketSla");
}

}  // namespace sundesk::sla
