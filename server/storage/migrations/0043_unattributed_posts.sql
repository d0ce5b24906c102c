-- Posts naming no lead source (the reserved account 0) are swept oldest first, by age and
-- beyond a count (services/intake/post_log.py, UnattributedRetention).
CREATE INDEX posts_unattributed_time ON posts (received_at) WHERE account_id = 0;
