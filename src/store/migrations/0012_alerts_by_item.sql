-- Alerts by the item that raised them. Deciding whether a near-duplicate
-- copy adds anything reads the alerts of its cluster; without this index
-- that read walked every alert the story ever raised, once per match, so a
-- long-running store slowed down with its own alert history.
CREATE INDEX alerts_item ON alerts (item_id);
