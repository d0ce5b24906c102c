-- An account's own limit of /async posts waiting to be processed; NULL: the server's
-- (LEADROUTER_QUEUE_MAX_POSTS).
ALTER TABLE accounts ADD COLUMN max_queued_posts integer CHECK (max_queued_posts > 0);
