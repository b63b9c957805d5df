-- A typed card payout keeps a keyed fingerprint of the card number (an
-- HMAC under a key derived from the installation's secret key file, never
-- the number), so that payouts to one card count together towards the
-- two-approver threshold whatever name they carry. NULL for saved cards
-- (known by their provider token) and bank accounts. The payouts_last4 index
-- already narrows the search to the card's last four digits.
ALTER TABLE payouts ADD COLUMN card_fingerprint TEXT;
