-- PostgreSQL's form of migrations/072_balance_hours.sql (SQLite): the last
-- balance reading of each UTC hour, kept by a trigger, for the chart.
CREATE TABLE balance_hours (
	currency     TEXT NOT NULL,
	hour         timestamptz NOT NULL,
	snapshot_id  BIGINT NOT NULL,
	amount       BIGINT NOT NULL,
	read_at      timestamptz NOT NULL,
	PRIMARY KEY (currency, hour)
);
INSERT INTO balance_hours (currency, hour, snapshot_id, amount, read_at)
	SELECT DISTINCT ON (currency, date_trunc('hour', read_at)) currency, date_trunc('hour', read_at), id, amount, read_at
	FROM balance_snapshots ORDER BY currency, date_trunc('hour', read_at), read_at DESC, id DESC;
CREATE FUNCTION balance_hours_keep() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO balance_hours AS h (currency, hour, snapshot_id, amount, read_at)
		VALUES (NEW.currency, date_trunc('hour', NEW.read_at), NEW.id, NEW.amount, NEW.read_at)
		ON CONFLICT (currency, hour) DO UPDATE SET snapshot_id = excluded.snapshot_id, amount = excluded.amount, read_at = excluded.read_at
		WHERE excluded.read_at >= h.read_at;
	RETURN NULL;
END
$$;
CREATE TRIGGER balance_hours_keep AFTER INSERT ON balance_snapshots FOR EACH ROW EXECUTE FUNCTION balance_hours_keep();
