#include "services/ticket/store/ticket_proto.h"

#include "google/protobuf/struct.pb.h"
#include "google/protobuf/timestamp.pb.h"
#include "google/protobuf/util/json_util.h"

namespace sundesk::ticket {
namespace {

void SetTime(absl::Time t, google::protobuf::Timestamp* ts) {
  const int64_t micros = absl::ToUnixMicros(t);
  int64_t seconds = micros / 1'000'000;
  int64_t rest = micros % 1'000'000;
  if (rest < 0) {
    rest += 1'000'000;
    --seconds;
  }
  ts->set_seconds(seconds);
  ts->set_nanos(static_cast<int32_t>(rest * 1000));
}

common::v1::Actor ActorToProto(const Caller& caller) {
  common::v1::Actor actor;
  actor.set_role(static_cast<common::v1::Role>(caller.role));
  actor.set_key_id(caller.key_id);
  actor.set_agent_id(caller.agent_id);
  return actor;
}

void JsonToValue(const std::string& json, google::protobuf::Value* value) {
  if (!google::protobuf::util::JsonStringToMessage(json, value).ok()) {
    value->set_string_value(json);  // cannot happen: the domain writes the JSON
  }
}

}  // namespace

v1::Ticket TicketToProto(const Ticket& t) {
  v1::Ticket p;
  p.set_ticket_id(t.ticket_id);
  p.set_tenant_id(t.tenant_id);
  p.set_subject(t.subject);
  p.set_description(t.description);
  auto* r = p.mutable_requester();
  r->set_external_id(t.requester.external_id);
  r->set_name(t.requester.name);
  r->set_email(t.requester.email);
  r->set_language(t.requester.language);
  r->set_time_zone(t.requester.time_zone);
  p.set_channel(static_cast<common::v1::Channel>(t.channel));
  p.set_priority(static_cast<common::v1::Priority>(t.priority));
  p.set_language(t.language);
  p.set_category(t.category);
  for (const auto& s : t.required_skills) p.add_required_skills(s);
  for (const auto& s : t.tags) p.add_tags(s);
  for (const auto& [k, v] : t.custom_fields) (*p.mutable_custom_fields())[k] = v;
  p.set_status(static_cast<v1::TicketStatus>(t.status));
  p.set_assignee_id(t.assignee_id);
  p.set_etag(TicketEtag(t.version));
  p.set_version(t.version);
  SetTime(t.create_time, p.mutable_create_time());
  SetTime(t.update_time, p.mutable_update_time());
  if (t.first_response_time) SetTime(*t.first_response_time, p.mutable_first_response_time());
  if (t.solve_time) SetTime(*t.solve_time, p.mutable_solve_time());
  return p;
}

Ticket TicketFromProto(const v1::Ticket& p) {
  Ticket t;
  t.ticket_id = p.ticket_id();
  t.tenant_id = p.tenant_id();
  t.subject = p.subject();
  t.description = p.description();
  t.priority = static_cast<Priority>(p.priority());
  t.language = p.language();
  t.category = p.category();
  t.required_skills.assign(p.required_skills().begin(), p.required_skills().end());
  t.tags.assign(p.tags().begin(), p.tags().end());
  for (const auto& [k, v] : p.custom_fields()) t.custom_fields[k] = v;
  return t;
}

v1::Comment CommentToProto(const Comment& c) {
  v1::Comment p;
  p.set_comment_id(c.comment_id);
  p.set_ticket_id(c.ticket_id);
  p.set_tenant_id(c.tenant_id);
  p.set_body(c.body);
  p.set_public_(c.is_public);
  p.set_author_kind(static_cast<v1::AuthorKind>(c.author_kind));
  p.set_author_id(c.author_id);
  SetTime(c.create_time, p.mutable_create_time());
  return p;
}

v1::HistoryEntry HistoryToProto(const HistoryEntry& h) {
  v1::HistoryEntry p;
  p.set_version(h.version);
  SetTime(h.time, p.mutable_time());
  *p.mutable_actor() = ActorToProto(h.actor);
  p.set_action(h.action);
  for (const FieldChange& c : h.changes) {
    auto* change = p.add_changes();
    change->set_field(c.field);
    JsonToValue(c.old_value, change->mutable_old_value());
    JsonToValue(c.new_value, change->mutable_new_value());
  }
  p.set_comment_id(h.comment_id);
  p.set_event_id(h.event_id);
  return p;
}

events::v1::Event EventToProto(const TicketWrite& w) {
  const TicketEvent& e = w.event;
  events::v1::Event p;
  p.set_event_id(e.event_id);
  p.set_type(e.type);
  p.set_source(kTicketEventSource);
  p.set_tenant_id(w.ticket.tenant_id);
  p.set_subject(w.ticket.ticket_id);
  p.set_sequence(w.ticket.version);
  SetTime(e.time, p.mutable_time());
  *p.mutable_actor() = ActorToProto(e.actor);
  if (e.type == "TicketCreated") {
    *p.mutable_ticket_created()->mutable_ticket() = TicketToProto(w.ticket);
  } else if (e.type == "TicketUpdated") {
    auto* u = p.mutable_ticket_updated();
    for (const auto& f : e.changed_fields) u->add_changed_fields(f);
    *u->mutable_ticket() = TicketToProto(w.ticket);
  } else if (e.type == "TicketStatusChanged") {
    auto* s = p.mutable_ticket_status_changed();
    s->set_from_status(static_cast<v1::TicketStatus>(e.from_status));
    s->set_to_status(static_cast<v1::TicketStatus>(e.to_status));
    s->set_reason(e.reason);
    *s->mutable_ticket() = TicketToProto(w.ticket);
  } else if (e.type == "TicketAssigned") {
    auto* a = p.mutable_ticket_assigned();
    a->set_agent_id(e.agent_id);
    a->set_previous_agent_id(e.previous_agent_id);
    a->set_routing_stage(e.routing_stage);
    a->set_offer_id(e.offer_id);
  } else if (e.type == "TicketUnassigned") {
    auto* u = p.mutable_ticket_unassigned();
    u->set_previous_agent_id(e.previous_agent_id);
    u->set_reason(e.reason);
  } else if (e.type == "CommentAdded" && w.comment) {
    auto* c = p.mutable_comment_added();
    c->set_comment_id(w.comment->comment_id);
    c->set_author_kind(static_cast<v1::AuthorKind>(w.comment->author_kind));
    c->set_author_id(w.comment->author_id);
    c->set_public_(w.comment->is_public);
    c->set_first_response(e.first_response);
  }
  return p;
}

}  // namespace sundesk::ticket
