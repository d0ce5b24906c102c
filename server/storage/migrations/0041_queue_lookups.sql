-- A queued post is leased, recorded and finished by its primary key (account_id, post_id),
-- with a state condition. On a table not yet analysed, a prepared statement's generic plan
-- read it through the partial index queued_posts_waiting (account_id) instead, whose
-- predicate the state condition implies: every post the account has waiting, to find one
-- (pg_stat_user_tables in bench/receiver_async.py: about 2,800 rows fetched per queued post
-- processed, with a few thousand waiting). With post_id in the index, either index finds the
-- one row. Counting an account's posts waiting reads the same index by its first column.
DROP INDEX queued_posts_waiting;
CREATE INDEX queued_posts_waiting ON queued_posts (account_id, post_id) WHERE state <> 'processed';
