-- Each person reads times in a zone of their choosing (an IANA name such as
-- Europe/Berlin); times are stored in UTC whatever they pick.
ALTER TABLE users ADD COLUMN time_zone TEXT NOT NULL DEFAULT 'UTC';
