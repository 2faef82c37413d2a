-- The band index becomes one B-tree: (key, item_id) without a rowid, and no
-- seen_at (the window is an item-id range, ids grow with first_seen_at).
-- Four B-trees per band row were most of the store and of a lookup's page
-- reads. `banded` marks items whose rows are in the index, so pruning finds
-- them by time and deletes exactly their rows. The store re-derives the
-- rows from stored signatures right after this migration.
DROP TABLE lsh_bands;
CREATE TABLE lsh_bands (
    key      INTEGER NOT NULL,
    item_id  INTEGER NOT NULL,
    PRIMARY KEY (key, item_id)
) WITHOUT ROWID;
ALTER TABLE items ADD COLUMN banded INTEGER NOT NULL DEFAULT 0;
CREATE INDEX items_banded ON items (first_seen_at) WHERE banded = 1;
