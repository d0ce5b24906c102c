-- name: list_posts
-- An account's post log entries, newest first, by (received_at, id) from a page's position,
-- without their bodies; through posts_account_time, read backwards from the position. The
-- position is compared as (received_at, id) after the account's equality: compared as
-- (account_id, received_at, id), the scan started at the account's newest entry and read
-- every index entry down to the position (1,629 buffers for a page halfway down 300,000
-- entries, against 16; bench/post_log.py).
SELECT p.id, p.received_at, p.source_id, p.campaign_id, p.lead_type_id, p.remote_ip,
       p.request_format, p.lead_index, p.request_post_id, ''::bytea AS request_body,
       p.request_truncated, p.request_removed_at, p.is_valid, p.response_type,
       p.response_details, p.lead_id, p.price, p.ping, p.steps
FROM posts p
WHERE p.account_id = %(account_id)s
  AND (p.received_at, p.id) < (%(before_at)s, %(before_id)s)
  AND p.received_at >= %(after)s
  AND (%(source_id)s::bigint = 0 OR p.source_id = %(source_id)s)
  AND (%(campaign_id)s::bigint = 0 OR p.campaign_id = %(campaign_id)s)
  AND (%(valid)s::boolean IS NULL OR p.is_valid = %(valid)s)
ORDER BY p.received_at DESC, p.id DESC
LIMIT %(limit)s;

-- name: get_post
-- One entry of an account, with the body of the entry that keeps its request (its own, or
-- request_post_id's) and whether and when that body was removed.
SELECT p.id, p.received_at, p.source_id, p.campaign_id, p.lead_type_id, p.remote_ip,
       p.request_format, p.lead_index, p.request_post_id,
       coalesce(k.request_body, ''::bytea) AS request_body,
       coalesce(k.request_truncated, false) AS request_truncated,
       k.request_removed_at, p.is_valid, p.response_type, p.response_details, p.lead_id,
       p.price, p.ping, p.steps
FROM posts p
LEFT JOIN posts k ON k.account_id = p.account_id AND k.id = coalesce(p.request_post_id, p.id)
WHERE p.account_id = %(account_id)s AND p.id = %(id)s;

-- name: accounts_removing_post_bodies
-- The accounts whose post log keeps bodies for a number of days, with the time before
-- which their bodies are due for removal.
SELECT account_id, now() - make_interval(days => post_body_days) AS due_before
FROM accounts
WHERE post_body_days IS NOT NULL
ORDER BY account_id;

-- name: lock_post_body_removal
-- Where an account's removal of bodies stopped (NULL: nowhere yet), and how far its next
-- batch goes: about a batch of entries on, up to its due time, but not past a queued post
-- still waiting (the worker reads its body). The account's row is locked FOR NO KEY UPDATE,
-- which posts inserted meanwhile (whose foreign key shares it) do not wait for: one process
-- removes an account's bodies at a time.
SELECT a.post_bodies_removed_before AS since,
       least(%(due_before)s::timestamptz,
             (SELECT min(q.queued_at) FROM queued_posts q
              WHERE q.account_id = a.account_id AND q.state <> 'processed'),
             (SELECT p.received_at FROM posts p
              WHERE p.account_id = a.account_id
                AND p.received_at >= coalesce(a.post_bodies_removed_before, '-infinity')
              ORDER BY p.received_at, p.id OFFSET %(batch)s LIMIT 1)) AS upto
FROM accounts a
WHERE a.account_id = %(account_id)s
FOR NO KEY UPDATE;

-- name: count_posts_between
-- How many entries of an account were received in [since, upto).
SELECT count(*) AS n FROM posts
WHERE account_id = %(account_id)s AND received_at >= %(since)s AND received_at < %(upto)s;

-- name: empty_post_bodies
-- Empty the bodies of an account's entries received in [since, upto); their ids. Through
-- posts_account_time: the range is given as values, so the plan never joins it to the table.
UPDATE posts SET request_body = ''::bytea, request_removed_at = now()
WHERE account_id = %(account_id)s AND received_at >= %(since)s AND received_at < %(upto)s
  AND octet_length(request_body) > 0
RETURNING id;

-- name: empty_queued_requests
-- The stored requests (their fields) of these processed queued posts of an account.
UPDATE queued_posts SET request = ''::bytea
WHERE account_id = %(account_id)s AND post_id = ANY(%(ids)s::uuid[]) AND state = 'processed'
  AND octet_length(request) > 0;

-- name: mark_post_bodies_removed
-- How far an account's removal of bodies has gone.
UPDATE accounts SET post_bodies_removed_before = %(upto)s
WHERE account_id = %(account_id)s;
