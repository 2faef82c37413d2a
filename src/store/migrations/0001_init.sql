-- Feeds: one row per configured feed name, with the poll schedule and the
-- HTTP validators that make the next poll conditional.
CREATE TABLE feeds (
    id                 INTEGER PRIMARY KEY,
    name               TEXT NOT NULL UNIQUE,
    url                TEXT NOT NULL,
    etag               TEXT,
    last_modified      TEXT,
    last_status        TEXT,             -- fetched | not_modified | failed
    last_http_status   INTEGER,
    last_error         TEXT,
    consecutive_errors INTEGER NOT NULL DEFAULT 0,
    last_polled_at     INTEGER,          -- unix seconds
    last_success_at    INTEGER,
    next_poll_at       INTEGER,
    created_at         INTEGER NOT NULL
);

-- Items: every entry that passed exact dedup. `guid` is the feed's own id or
-- one storywatch derived (see feeds::normalize); it is unique per feed.
CREATE TABLE items (
    id             INTEGER PRIMARY KEY,
    feed_id        INTEGER NOT NULL REFERENCES feeds(id) ON DELETE CASCADE,
    guid           TEXT NOT NULL,
    link           TEXT,
    canonical_url  TEXT,
    title          TEXT NOT NULL,
    text           TEXT NOT NULL,
    published_at   INTEGER,
    first_seen_at  INTEGER NOT NULL,
    content_hash   BLOB,
    authors        TEXT NOT NULL DEFAULT '[]',   -- JSON array
    categories     TEXT NOT NULL DEFAULT '[]',   -- JSON array
    UNIQUE (feed_id, guid)
);
CREATE INDEX items_canonical_url ON items (canonical_url) WHERE canonical_url IS NOT NULL;
CREATE INDEX items_content_hash ON items (content_hash) WHERE content_hash IS NOT NULL;
CREATE INDEX items_first_seen ON items (first_seen_at);
