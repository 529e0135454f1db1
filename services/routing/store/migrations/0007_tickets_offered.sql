-- Whether a queued ticket has an open offer, on its queue row: a dispatch pass reads the
-- queued tickets without one through a partial index instead of anti-joining every open
-- offer. With offers open for their whole timeout (30 s by default) most queued tickets have
-- one at a steady rate: at 200 tickets/s about 2,000, and the anti-join over them took 3-7 ms
-- a pass, ~57 passes/s, more than half of PostgreSQL's execution time in
-- routing_latency_bench. Kept by a trigger on offers, so every path that opens, answers,
-- expires or withdraws an offer keeps it; offers_open_ticket allows one open offer per
-- ticket, so an open offer leaving state 1 leaves the ticket without one. The trigger locks
-- the ticket's row; the paths that open an offer hold that lock already.
ALTER TABLE tickets ADD COLUMN offered boolean NOT NULL DEFAULT false;
UPDATE tickets t SET offered = true
  WHERE EXISTS (SELECT 1 FROM offers o WHERE o.ticket_id = t.ticket_id AND o.state = 1);
CREATE INDEX tickets_routable ON tickets (ticket_id) WHERE queued_time IS NOT NULL AND NOT offered;
-- The offers to withdraw: open while their ticket left the queue (assigned, solved, closed).
CREATE INDEX tickets_offered_unqueued ON tickets (ticket_id) WHERE offered AND queued_time IS NULL;

CREATE FUNCTION mark_ticket_offered() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.state = 1
     AND (TG_OP = 'DELETE' OR NEW.state <> 1 OR NEW.ticket_id <> OLD.ticket_id) THEN
    UPDATE routing.tickets SET offered = false WHERE ticket_id = OLD.ticket_id AND offered;
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.state = 1
     AND (TG_OP = 'INSERT' OR OLD.state <> 1 OR NEW.ticket_id <> OLD.ticket_id) THEN
    UPDATE routing.tickets SET offered = true WHERE ticket_id = NEW.ticket_id AND NOT offered;
  END IF;
  RETURN NULL;
END
$$;

CREATE TRIGGER offers_mark_ticket AFTER INSERT OR UPDATE OF state, ticket_id OR DELETE ON offers
  FOR EACH ROW EXECUTE FUNCTION mark_ticket_offered();
