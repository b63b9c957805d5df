-- No splitting: the payouts of the last 24 hours to the same bank account
-- count towards the approval threshold together, and the same account is
-- found by its identity, whichever row (recipient, or a removed and saved
-- again copy) it is saved under.
CREATE INDEX bank_accounts_identity ON bank_accounts(identity);
