-- The band index moves from 16 bands of 4 minima to 32 bands of 2 (a
-- candidate shares two bands): trimmed copies have a low Jaccard and were
-- missed. Signatures are unchanged; the store re-derives the bands from them
-- right after this migration. The key index covers the lookup, and the
-- seen_at index lets old rows be pruned past the window.
DELETE FROM lsh_bands;
DROP INDEX IF EXISTS lsh_bands_key;
CREATE INDEX lsh_bands_key ON lsh_bands (key, seen_at, item_id);
CREATE INDEX IF NOT EXISTS lsh_bands_seen ON lsh_bands (seen_at);
