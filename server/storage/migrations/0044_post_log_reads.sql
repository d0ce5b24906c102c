-- The post log, read and kept no longer than its account says (services/intake/post_log.py,
-- PostBodyRetention; services/post_log.py, PostLogReads).
-- Days an account's post log keeps request bodies; NULL: for ever.
ALTER TABLE accounts ADD COLUMN post_body_days integer
    CHECK (post_body_days BETWEEN 1 AND 3650);
-- How far the removal of bodies has gone: every entry received before it has none; NULL:
-- none removed yet.
ALTER TABLE accounts ADD COLUMN post_bodies_removed_before timestamptz;
-- When an entry's body was removed; NULL while it is kept (or it never had one).
ALTER TABLE posts ADD COLUMN request_removed_at timestamptz;
-- An account's entries by time: the post log read newest first (ListPosts, a page at a time
-- by (received_at, id)), and the removal of bodies walking forward from where it stopped.
CREATE INDEX posts_account_time ON posts (account_id, received_at, id);
