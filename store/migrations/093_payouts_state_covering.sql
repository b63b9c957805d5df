-- What the money on hand weighs, on every page (the balance banner): the
-- payouts in the open states summed by currency, state and whether a
-- confirm was sent. With those in payouts_state the sum reads the index
-- alone, not each open payout's row (2,000 waiting at a million payouts
-- took a fifth of the queue page, mostly reading pages of the table). The
-- id stays next after the deadline: the payouts due are read in that order.
DROP INDEX payouts_state;
CREATE INDEX payouts_state ON payouts(state, deadline_at, id, currency, confirm_attempted, amount);
