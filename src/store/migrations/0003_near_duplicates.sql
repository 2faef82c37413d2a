-- Near-duplicate clusters: every item belongs to a cluster (its own id when
-- it copies nothing), and keeps its MinHash signature; `lsh_bands` is the
-- banded index that finds candidate copies without scanning.
ALTER TABLE items ADD COLUMN cluster_id INTEGER;
ALTER TABLE items ADD COLUMN shingles INTEGER;
ALTER TABLE items ADD COLUMN signature BLOB;
UPDATE items SET cluster_id = id;
CREATE INDEX items_cluster ON items (cluster_id);

CREATE TABLE lsh_bands (
    key      INTEGER NOT NULL,
    item_id  INTEGER NOT NULL REFERENCES items(id) ON DELETE CASCADE,
    seen_at  INTEGER NOT NULL
);
CREATE INDEX lsh_bands_key ON lsh_bands (key, seen_at);
CREATE INDEX lsh_bands_item ON lsh_bands (item_id);
