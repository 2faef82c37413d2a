-- Reference articles: config files are mirrored here at start, `story add`
-- adds more; a story's state lives in the database with the items.
CREATE TABLE story_articles (
    id           INTEGER PRIMARY KEY,
    story_id     TEXT NOT NULL,
    source       TEXT NOT NULL,          -- file path or URL it came from
    title        TEXT NOT NULL,
    text         TEXT NOT NULL,
    added_at     INTEGER NOT NULL,
    UNIQUE (story_id, source)
);

-- Names that appeared beside a story in matched follow-ups, and those that
-- joined its watchlist.
CREATE TABLE entity_sightings (
    story_id  TEXT NOT NULL,
    name      TEXT NOT NULL,
    kind      TEXT NOT NULL,
    item_id   INTEGER NOT NULL REFERENCES items(id) ON DELETE CASCADE,
    PRIMARY KEY (story_id, name, item_id)
) WITHOUT ROWID;

CREATE TABLE emerged_entities (
    story_id   TEXT NOT NULL,
    name       TEXT NOT NULL,
    kind       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (story_id, name)
) WITHOUT ROWID;

-- Scores with their explanation (JSON), for items that touched a story.
CREATE TABLE matches (
    item_id     INTEGER NOT NULL REFERENCES items(id) ON DELETE CASCADE,
    story_id    TEXT NOT NULL,
    score       REAL NOT NULL,
    matched     INTEGER NOT NULL,        -- 1 when score >= threshold
    explanation TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (item_id, story_id)
);
CREATE INDEX matches_story ON matches (story_id, matched);

-- Alerts: the `storywatch.alert.v1` payload, with a stable id derived from
-- what the alert is about.
CREATE TABLE alerts (
    id          TEXT PRIMARY KEY,
    story_id    TEXT NOT NULL,
    kind        TEXT NOT NULL,           -- followup | update | new_entity
    item_id     INTEGER REFERENCES items(id) ON DELETE SET NULL,
    score       REAL,
    created_at  INTEGER NOT NULL,
    payload     TEXT NOT NULL
);
CREATE INDEX alerts_created ON alerts (created_at);
CREATE INDEX alerts_story ON alerts (story_id, kind);

-- Document frequencies of the stories' vocabulary, for BM25 similarity.
CREATE TABLE term_df (
    term TEXT PRIMARY KEY,
    df   INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE corpus (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    n_docs  INTEGER NOT NULL
);
INSERT INTO corpus (id, n_docs) SELECT 1, count(*) FROM items;
