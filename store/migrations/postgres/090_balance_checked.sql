-- PostgreSQL's form of migrations/090_balance_checked.sql (SQLite): a balance
-- reading is stored only when it changed or hourly, the latest row's
-- checked_at saying when it was last found unchanged; the existing readings
-- thinned by the same rule.
ALTER TABLE balance_snapshots ADD COLUMN checked_at timestamptz;
CREATE TEMP TABLE balance_runs ON COMMIT DROP AS
	WITH marked AS (
		SELECT id, currency, read_at,
			CASE WHEN lag(amount) OVER w IS NULL OR amount <> lag(amount) OVER w
				OR date_trunc('hour', read_at) <> date_trunc('hour', lag(read_at) OVER w) THEN 1 ELSE 0 END AS keep
		FROM balance_snapshots WINDOW w AS (PARTITION BY currency ORDER BY read_at, id)),
	grouped AS (
		SELECT id, currency, read_at, keep, sum(keep) OVER (PARTITION BY currency ORDER BY read_at, id ROWS UNBOUNDED PRECEDING) AS run
		FROM marked)
	SELECT g.id, r.checked_at FROM grouped g
	JOIN (SELECT currency, run, max(read_at) AS checked_at FROM grouped GROUP BY currency, run) r ON r.currency = g.currency AND r.run = g.run
	WHERE g.keep = 1;
UPDATE balance_snapshots b SET checked_at = r.checked_at FROM balance_runs r WHERE r.id = b.id;
DELETE FROM balance_snapshots WHERE checked_at IS NULL;
ALTER TABLE balance_snapshots ALTER COLUMN checked_at SET NOT NULL;
