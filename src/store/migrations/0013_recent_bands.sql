-- New band rows land in a small table of the same shape and move into
-- lsh_bands in key order every few thousand items. Written straight into
-- the big index, each item's 32 rows dirtied 32 random leaf pages (about
-- 1,600 pages per feed committed, each written to the WAL and checkpointed);
-- the small table's pages stay in the page cache, and a merge writes each
-- leaf of the big index once.
CREATE TABLE lsh_recent (
    key      INTEGER NOT NULL,
    item_id  INTEGER NOT NULL,
    PRIMARY KEY (key, item_id)
) WITHOUT ROWID;
