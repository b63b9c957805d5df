-- The recipient book's search ("name, reference or email contains"):
-- ILIKE '%x%' on each column through trigram indexes (pg_trgm, created by
-- migration 070), instead of a walk of the whole book.
CREATE INDEX recipients_name_trgm ON recipients USING gin (full_name gin_trgm_ops);
CREATE INDEX recipients_reference_trgm ON recipients USING gin (customer_reference gin_trgm_ops);
CREATE INDEX recipients_email_trgm ON recipients USING gin (email gin_trgm_ops);
