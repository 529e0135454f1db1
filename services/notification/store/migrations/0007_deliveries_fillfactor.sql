-- Room in each page of deliveries for a row's next version: a claim changes only
-- lease_until, which no index holds, so with room on its page the claim is a HOT update
-- (no new index entries). New pages get the room; existing ones as they are rewritten.
ALTER TABLE deliveries SET (fillfactor = 60);
