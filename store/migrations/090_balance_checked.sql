-- A balance reading is stored only when its amount changed or the latest
-- stored one is from an earlier UTC hour; a reading that finds the amount
-- unchanged moves checked_at of the latest row instead (store.InsertBalanceSnapshot).
-- The existing readings are thinned by the same rule: of a run of equal
-- amounts the first row of each hour stays, its checked_at the last reading
-- of the run within that hour. balance_hours keeps its rows: the amount of
-- every hour is unchanged by the thinning.
ALTER TABLE balance_snapshots ADD COLUMN checked_at TEXT;
CREATE TEMP TABLE balance_runs (id INTEGER PRIMARY KEY, checked_at TEXT NOT NULL);
INSERT INTO balance_runs (id, checked_at)
	WITH marked AS (
		SELECT id, currency, read_at,
			CASE WHEN lag(amount) OVER w IS NULL OR amount <> lag(amount) OVER w
				OR substr(read_at, 1, 13) <> substr(lag(read_at) OVER w, 1, 13) THEN 1 ELSE 0 END AS keep
		FROM balance_snapshots WINDOW w AS (PARTITION BY currency ORDER BY read_at, id)),
	grouped AS (
		SELECT id, currency, read_at, keep, sum(keep) OVER (PARTITION BY currency ORDER BY read_at, id ROWS UNBOUNDED PRECEDING) AS run
		FROM marked)
	SELECT g.id, r.checked_at FROM grouped g
	JOIN (SELECT currency, run, max(read_at) AS checked_at FROM grouped GROUP BY currency, run) r ON r.currency = g.currency AND r.run = g.run
	WHERE g.keep = 1;
UPDATE balance_snapshots SET checked_at = r.checked_at FROM balance_runs r WHERE r.id = balance_snapshots.id;
DELETE FROM balance_snapshots WHERE checked_at IS NULL;
DROP TABLE balance_runs;
