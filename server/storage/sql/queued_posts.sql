-- name: reserve_queue_room
-- Room in their accounts' queues for a group of posts: each account's count of posts waiting
-- raised by its posts in the group, unless that would pass its limit (its own
-- max_queued_posts, or the server's max_queued); the accounts that had room. The count is an
-- upper bound (processing never lowers it; `lock_queue_count` and `set_queue_count` set it
-- to the posts really waiting), so a group within it is within the limit. Rows are locked in
-- account order, so two processes' groups cannot deadlock.
INSERT INTO queued_post_counts AS c (account_id, waiting)
SELECT w.account_id, w.n
FROM unnest(%(accounts)s::bigint[], %(counts)s::integer[]) AS w(account_id, n)
JOIN accounts a ON a.account_id = w.account_id
WHERE w.n <= COALESCE(a.max_queued_posts, %(max_queued)s)
ORDER BY w.account_id
ON CONFLICT (account_id) DO UPDATE SET waiting = c.waiting + excluded.waiting
WHERE c.waiting + excluded.waiting <= COALESCE(
  (SELECT x.max_queued_posts FROM accounts x WHERE x.account_id = c.account_id),
  %(max_queued)s)
RETURNING account_id;

-- name: enqueue_post
-- Queue a post with its post log entry (its account's room reserved already). It is due for
-- any worker's poll once the process that queued it has had `reserve` seconds to start it.
WITH post AS (
  INSERT INTO posts (account_id, id, source_id, campaign_id, lead_type_id, remote_ip,
                     request_format, request_body, request_truncated, lead_index,
                     request_post_id, is_valid, response_type, response_details, lead_id, price,
                     steps, ping)
  VALUES (%(account_id)s, %(id)s, %(source_id)s, %(campaign_id)s, %(lead_type_id)s,
          %(remote_ip)s, %(request_format)s, %(request_body)s, %(request_truncated)s,
          %(lead_index)s, %(request_post_id)s, %(is_valid)s, %(response_type)s,
          %(response_details)s, %(lead_id)s, %(price)s, %(steps)s, %(ping)s)
  RETURNING account_id, id
)
INSERT INTO queued_posts (account_id, post_id, source_id, request, credentials, return_url,
                          endpoint, response_format, receiver_url, next_attempt_at)
SELECT account_id, id, %(source_id)s, %(request)s, %(credentials)s, %(return_url)s,
       %(endpoint)s, %(response_format)s, %(receiver_url)s,
       now() + make_interval(secs => %(reserve)s)
FROM post;

-- name: lock_queue_count
-- Lock the account's count of posts waiting (made when it has none), with its limit.
INSERT INTO queued_post_counts AS c (account_id, waiting)
VALUES (%(account_id)s, 0)
ON CONFLICT (account_id) DO UPDATE SET waiting = c.waiting
RETURNING (SELECT COALESCE(a.max_queued_posts, %(max_queued)s) FROM accounts a
           WHERE a.account_id = %(account_id)s) AS queue_limit;

-- name: count_waiting_posts
-- The account's posts really waiting: queued or processing. Run under the count's lock, after
-- taking it, so no post is queued meanwhile.
SELECT count(*) AS waiting FROM queued_posts
WHERE account_id = %(account_id)s AND state <> 'processed';

-- name: set_queue_count
UPDATE queued_post_counts SET waiting = %(waiting)s WHERE account_id = %(account_id)s;

-- name: start_queued_post
-- Lease a post this process queued, unless a poll took it meanwhile; with what processing
-- it needs.
UPDATE queued_posts
SET state = 'processing', attempts = attempts + 1,
    lease_until = now() + make_interval(secs => %(lease)s)
WHERE account_id = %(account_id)s AND post_id = %(post_id)s AND state = 'queued'
  AND attempts = 0
RETURNING account_id, post_id, source_id, attempts, request, credentials, return_url,
          endpoint, response_format, receiver_url, outcomes;

-- name: claim_queued_posts
-- Lease due queued posts to this process, oldest due first: those waiting (past their
-- queuing process's reservation, or their retry's time) and those whose worker died (its
-- lease ran out). A post another process holds is skipped.
UPDATE queued_posts q
SET state = 'processing', attempts = q.attempts + 1,
    lease_until = now() + make_interval(secs => %(lease)s)
FROM (
  SELECT account_id, post_id FROM queued_posts
  WHERE state <> 'processed' AND next_attempt_at <= now()
    AND (lease_until IS NULL OR lease_until < now())
  ORDER BY next_attempt_at
  LIMIT %(limit)s
  FOR UPDATE SKIP LOCKED
) due
WHERE q.account_id = due.account_id AND q.post_id = due.post_id
RETURNING q.account_id, q.post_id, q.source_id, q.attempts, q.request, q.credentials,
          q.return_url, q.endpoint, q.response_format, q.receiver_url, q.outcomes;

-- name: renew_queued_post
-- Extend a worker's lease on the post it is processing; no row once the lease is lost.
UPDATE queued_posts SET lease_until = now() + make_interval(secs => %(lease)s)
WHERE account_id = %(account_id)s AND post_id = %(post_id)s AND state = 'processing'
  AND attempts = %(attempt)s
RETURNING post_id;

-- name: record_queued_outcomes
-- Add the answers of leads just stored (or refused), from lead `first` on, in the
-- transaction that stores them; no row when the worker's lease is lost (the transaction is
-- then rolled back, and the leads not stored).
UPDATE queued_posts SET outcomes = outcomes || %(outcomes)s
WHERE account_id = %(account_id)s AND post_id = %(post_id)s AND state = 'processing'
  AND attempts = %(attempt)s AND jsonb_array_length(outcomes) = %(first)s
RETURNING post_id;

-- name: finish_queued_post
-- A processed post: its answer stored, its request and credentials dropped (and so no
-- longer among the account's posts waiting), and its post log entry given its first lead's
-- answer and the processing step; in one statement, guarded by the worker's lease. No row
-- when the lease is lost.
WITH done AS (
  UPDATE queued_posts
  SET state = 'processed', answer_type = %(answer_type)s, answer = %(answer)s,
      processed_at = now(), lease_until = NULL, request = '', credentials = NULL
  WHERE account_id = %(account_id)s AND post_id = %(post_id)s AND state = 'processing'
    AND attempts = %(attempt)s
  RETURNING account_id, post_id
), post AS (
  UPDATE posts p
  SET is_valid = %(is_valid)s, response_type = %(response_type)s,
      response_details = %(response_details)s,
      campaign_id = coalesce(%(campaign_id)s, p.campaign_id), lead_id = %(lead_id)s,
      price = %(price)s, steps = p.steps || %(step)s
  FROM done
  WHERE p.account_id = done.account_id AND p.id = done.post_id
)
SELECT post_id FROM done;

-- name: release_queued_post
-- Processing failed: the post waits for its next attempt, `delay` seconds from now.
UPDATE queued_posts
SET state = 'queued', lease_until = NULL,
    next_attempt_at = now() + make_interval(secs => %(delay)s)
WHERE account_id = %(account_id)s AND post_id = %(post_id)s AND state = 'processing'
  AND attempts = %(attempt)s;

-- name: queue_limit
-- How many posts the account may have waiting: its own limit, or the server's (max_queued).
SELECT COALESCE(max_queued_posts, %(max_queued)s) AS queue_limit FROM accounts
WHERE account_id = %(account_id)s;
