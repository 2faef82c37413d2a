-- What users said of an item for a story: a follow-up (relevant) or not
-- (irrelevant). The item's title and text are kept with the verdict, so that
-- pruning the item does not take away what the story learned from it.
CREATE TABLE feedback (
    story_id    TEXT NOT NULL,
    item_id     INTEGER NOT NULL,
    verdict     TEXT NOT NULL CHECK (verdict IN ('relevant', 'irrelevant')),
    title       TEXT NOT NULL,
    text        TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (story_id, item_id)
);
