-- Counting an account's posts waiting (queued or processing), when its count of posts waiting
-- (an upper bound since processing no longer lowers it) would pass its limit
-- (server/storage/queued_posts.py, QueueWriter).
CREATE INDEX queued_posts_waiting ON queued_posts (account_id) WHERE state <> 'processed';
