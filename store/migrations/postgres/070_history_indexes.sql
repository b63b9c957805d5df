-- PostgreSQL's form of migrations/070_history_indexes.sql (SQLite).
--
-- By approver: the payouts an approver approved, in the page's order, kept
-- by a trigger.
CREATE TABLE payout_approvers (
	user_id    BIGINT NOT NULL,
	created_at timestamptz NOT NULL,
	payout_id  BIGINT NOT NULL,
	PRIMARY KEY (user_id, created_at, payout_id)
);
INSERT INTO payout_approvers (user_id, created_at, payout_id)
	SELECT DISTINCT a.user_id, p.created_at, p.id FROM approvals a JOIN payouts p ON p.id = a.payout_id
	ON CONFLICT DO NOTHING;
CREATE FUNCTION payout_approvers_add() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO payout_approvers (user_id, created_at, payout_id)
		SELECT NEW.user_id, created_at, id FROM payouts WHERE id = NEW.payout_id
		ON CONFLICT DO NOTHING;
	RETURN NULL;
END
$$;
CREATE TRIGGER payout_approvers_insert AFTER INSERT ON approvals FOR EACH ROW EXECUTE FUNCTION payout_approvers_add();

-- Recipient name contains: ILIKE '%abc%' through a trigram index.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX payouts_name_trgm ON payouts USING gin (full_name gin_trgm_ops);
DROP INDEX payouts_name;
