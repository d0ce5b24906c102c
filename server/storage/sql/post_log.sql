-- name: list_posts
-- An account's post log entries, newest first, by (received_at, id) from a page's position,
-- without their bodies; through posts_account_time, read backwards.
SELECT p.id, p.received_at, p.source_id, p.campaign_id, p.lead_type_id, p.remote_ip,
       p.request_format, p.lead_index, p.request_post_id, ''::bytea AS request_body,
       p.request_truncated, p.request_removed_at, p.is_valid, p.response_type,
       p.response_details, p.lead_id, p.price, p.ping, p.steps
FROM posts p
WHERE p.account_id = %(account_id)s
  AND (p.account_id, p.received_at, p.id) < (%(account_id)s, %(before_at)s, %(before_id)s)
  AND p.received_at >= %(after)s
  AND (%(source_id)s::bigint = 0 OR p.source_id = %(source_id)s)
  AND (%(campaign_id)s::bigint = 0 OR p.campaign_id = %(campaign_id)s)
  AND (%(valid)s::boolean IS NULL OR p.is_valid = %(valid)s)
ORDER BY p.account_id DESC, p.received_at DESC, p.id DESC
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

-- name: remove_post_bodies
-- Remove the bodies of up to about a batch of an account's entries from where the last
-- removal stopped (post_bodies_removed_before), oldest first, up to its due time but not
-- past a queued post still waiting (the worker reads its body); a processed queued post's
-- request goes too. How far it went is kept in the same statement; how many entries it
-- passed is answered (0: nothing is due). The account's row is locked first, FOR NO KEY
-- UPDATE so that posts inserted meanwhile (whose foreign key shares it) do not wait: one
-- process removes an account's bodies at a time.
WITH account AS (
    SELECT account_id, coalesce(post_bodies_removed_before, '-infinity') AS since
    FROM accounts WHERE account_id = %(account_id)s
    FOR NO KEY UPDATE
), bound AS (
    SELECT a.account_id, a.since,
           least(%(due_before)s::timestamptz,
                 (SELECT min(q.queued_at) FROM queued_posts q
                  WHERE q.account_id = a.account_id AND q.state <> 'processed'),
                 (SELECT p.received_at FROM posts p
                  WHERE p.account_id = a.account_id AND p.received_at >= a.since
                  ORDER BY p.received_at, p.id OFFSET %(batch)s LIMIT 1)) AS upto
    FROM account a
), passed AS (
    SELECT p.account_id, p.id, octet_length(p.request_body) > 0 AS has_body
    FROM bound b
    JOIN posts p ON p.account_id = b.account_id
                AND p.received_at >= b.since AND p.received_at < b.upto
), bodies AS (
    UPDATE posts p SET request_body = ''::bytea, request_removed_at = now()
    FROM passed d
    WHERE d.has_body AND p.account_id = d.account_id AND p.id = d.id
    RETURNING p.account_id, p.id
), requests AS (
    UPDATE queued_posts q SET request = ''::bytea
    FROM passed d
    WHERE q.account_id = d.account_id AND q.post_id = d.id AND q.state = 'processed'
      AND q.request <> ''::bytea
), moved AS (
    UPDATE accounts a SET post_bodies_removed_before = b.upto
    FROM bound b
    WHERE a.account_id = b.account_id AND b.upto > b.since
)
SELECT (SELECT count(*) FROM passed) AS passed, (SELECT count(*) FROM bodies) AS removed;
