-- PostgreSQL's form of migrations/050_user_time_zone.sql (SQLite): each
-- person's time zone (an IANA name); times stay stored in UTC.
ALTER TABLE users ADD COLUMN time_zone TEXT NOT NULL DEFAULT 'UTC';
