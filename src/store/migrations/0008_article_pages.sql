-- Full-text fetching. Every article page fetched is kept, whatever the
-- outcome, so no page is fetched twice (another feed may carry the same
-- link), and the page's own canonical URL becomes a second dedup key of the
-- item it completed.
CREATE TABLE article_pages (
    url            TEXT PRIMARY KEY,
    fetched_at     INTEGER NOT NULL,
    status         INTEGER,
    canonical_url  TEXT,
    title          TEXT,
    published_at   INTEGER,
    authors        TEXT NOT NULL DEFAULT '[]',
    language       TEXT,
    text           TEXT NOT NULL DEFAULT '',
    method         TEXT,
    error          TEXT
);
CREATE INDEX article_pages_fetched_at ON article_pages (fetched_at);
ALTER TABLE items ADD COLUMN page_url TEXT;
CREATE INDEX items_page_url ON items (page_url) WHERE page_url IS NOT NULL;
