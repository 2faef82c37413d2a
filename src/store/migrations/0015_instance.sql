-- Facts about this database. `instance` is random and made once: alert ids
-- are derived from it, so two databases (a recreated file, a second
-- machine) never give two alerts one id.
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
INSERT OR IGNORE INTO meta (key, value) VALUES ('instance', lower(hex(randomblob(16))));
