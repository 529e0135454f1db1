-- ticket_history.ticket_id referenced tickets with a foreign key. Every history row is
-- written by PgTicketStore in the transaction that inserts its ticket or holds that
-- ticket's row lock (SELECT ... FOR UPDATE), and tickets are never deleted, so the key
-- could never fail; yet PostgreSQL checked it on every change with a trigger that runs its
-- own query (SPI) and takes a KEY SHARE lock on the ticket row: about 8 % of the database's
-- CPU per CreateTicket under ticket_bench.
ALTER TABLE ticket_history DROP CONSTRAINT ticket_history_ticket_id_fkey;
