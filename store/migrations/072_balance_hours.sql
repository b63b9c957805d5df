-- The dashboard's balance chart plots the last reading of each UTC hour. It
-- used to pick them out of every reading (one a minute: 43,200 a month per
-- currency); this roll-up keeps the last reading of each hour as readings
-- are stored, so a month's chart reads 720 rows.
CREATE TABLE balance_hours (
	currency     TEXT NOT NULL,
	hour         TEXT NOT NULL, -- YYYY-MM-DDTHH, UTC
	snapshot_id  INTEGER NOT NULL,
	amount       INTEGER NOT NULL,
	read_at      TEXT NOT NULL,
	PRIMARY KEY (currency, hour)
) WITHOUT ROWID;
-- SQLite takes the bare columns from the row that holds the max().
INSERT INTO balance_hours (currency, hour, snapshot_id, amount, read_at)
	SELECT currency, substr(read_at, 1, 13), id, amount, max(read_at) FROM balance_snapshots WHERE true GROUP BY currency, substr(read_at, 1, 13);
CREATE TRIGGER balance_hours_keep AFTER INSERT ON balance_snapshots BEGIN
	INSERT INTO balance_hours (currency, hour, snapshot_id, amount, read_at)
		VALUES (new.currency, substr(new.read_at, 1, 13), new.id, new.amount, new.read_at)
		ON CONFLICT (currency, hour) DO UPDATE SET snapshot_id = excluded.snapshot_id, amount = excluded.amount, read_at = excluded.read_at
		WHERE excluded.read_at >= balance_hours.read_at;
END;
