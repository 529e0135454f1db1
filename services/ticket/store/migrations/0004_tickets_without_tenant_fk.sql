-- Creating a ticket checked tickets.tenant_id against tenants with a foreign key, which
-- takes a KEY SHARE lock on the tenant's row. Every concurrent create of one client
-- company then shares that row lock, and PostgreSQL turns each overlap into a MultiXact:
-- a busy tenant's creates queue behind MultiXact bookkeeping. Tenants are never deleted
-- and TicketService checks the tenant before it writes (NOT_FOUND), so the key bought
-- nothing the domain does not already guarantee.
ALTER TABLE tickets DROP CONSTRAINT tickets_tenant_id_fkey;
