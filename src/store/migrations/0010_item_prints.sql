-- Fingerprints move out of the items table into a narrow one. A
-- near-duplicate lookup reads the signatures of every candidate that shares
-- bands with the new item (tens of them on a feed of one beat), and reading
-- one out of an items row loaded a page of that item's text.
CREATE TABLE item_prints (
    item_id    INTEGER PRIMARY KEY REFERENCES items(id) ON DELETE CASCADE,
    shingles   INTEGER NOT NULL,
    signature  BLOB NOT NULL
);
INSERT INTO item_prints (item_id, shingles, signature)
    SELECT id, shingles, signature FROM items WHERE signature IS NOT NULL;
ALTER TABLE items DROP COLUMN signature;
ALTER TABLE items DROP COLUMN shingles;
