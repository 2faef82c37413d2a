-- Feed health for the service: a feed that keeps failing is paused (and
-- reported) instead of polled forever; a long failure streak raises one
-- `feed_health` alert and its recovery another.
ALTER TABLE feeds ADD COLUMN paused_at INTEGER;
ALTER TABLE feeds ADD COLUMN failing_since INTEGER;   -- first failure of the current streak
ALTER TABLE feeds ADD COLUMN health_alert TEXT;       -- the open "down" alert's id
