-- The history filtered to returned payouts, in the page's order: returns are
-- few (about one payout in a thousand), so the page walked payouts_created
-- through nearly every payout to fill a page. Partial: returned rows only.
CREATE INDEX payouts_returned_created ON payouts(created_at, id) WHERE returned_at IS NOT NULL;
