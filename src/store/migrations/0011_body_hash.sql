-- A digest of the last body each feed answered with. Many servers send no
-- validators (or new ones every time) for a feed that has not changed; a
-- body identical to the last one is then known to hold nothing new and is
-- not parsed again.
ALTER TABLE feeds ADD COLUMN body_hash BLOB;
