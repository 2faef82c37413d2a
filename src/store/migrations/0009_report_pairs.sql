-- Paraphrase lookup. A matched item that names two or more people and one
-- story event may retell a report stored the same day; finding those used to
-- read every matched item of the story in the window (and parse its
-- explanation), which grew with the square of the matches. One row per
-- (story, pair of person surnames, time, item) lets a new match read only
-- the items that share two people with it.
CREATE TABLE report_pairs (
    story_id  TEXT NOT NULL,
    pair      TEXT NOT NULL,            -- two folded surnames, sorted, '|' between
    at        INTEGER NOT NULL,         -- published, else first seen
    item_id   INTEGER NOT NULL REFERENCES items(id) ON DELETE CASCADE,
    PRIMARY KEY (story_id, pair, at, item_id)
) WITHOUT ROWID;
CREATE INDEX report_pairs_item ON report_pairs (item_id);
