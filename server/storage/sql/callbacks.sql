-- name: insert_callback
-- Queue a post's callback, due now; a post that has one already keeps it.
INSERT INTO callbacks (account_id, event_id, post_id, source_id, url, content_type, body)
VALUES (%(account_id)s, %(event_id)s, %(post_id)s, %(source_id)s, %(url)s, %(content_type)s,
        %(body)s)
ON CONFLICT (post_id, account_id) DO NOTHING;

-- name: claim_callbacks
-- Lease due callbacks: pending ones whose time came, and ones whose sending process died;
-- with what sending each needs: its age, whether its account allows private addresses, and
-- its source's signing secret (NULL: sent unsigned). Each lease is numbered, so a process
-- whose lease ran out cannot finish the callback. The account's setting is read per callback
-- leased, not joined: joined, the plan could read every callback of the account through the
-- primary key's first column to find the few leased. The walk is of the callbacks not
-- finished (callbacks_due), from the oldest due: a leased callback's time came when it was
-- leased. Leasing changes no indexed column (migration 0042).
UPDATE callbacks c SET state = 'sending', lease = c.lease + 1,
                       lease_until = now() + make_interval(secs => %(lease_seconds)s)
FROM (
  SELECT account_id, id FROM callbacks
  WHERE finished_at IS NULL AND next_attempt_at <= now()
    AND (state = 'pending' OR lease_until < now())
  ORDER BY next_attempt_at
  LIMIT %(limit)s
  FOR UPDATE SKIP LOCKED
) due
WHERE c.account_id = due.account_id AND c.id = due.id
RETURNING c.account_id, c.id, c.lease, c.event_id, c.post_id, c.url, c.content_type, c.body,
          c.attempts, extract(epoch FROM now() - c.created_at)::float8 AS age_seconds,
          coalesce((SELECT a.allow_private_callbacks FROM accounts a
                    WHERE a.account_id = c.account_id), false) AS allow_private_callbacks,
          (SELECT s.secret FROM signing_secrets s
           WHERE s.account_id = c.account_id AND s.source_id = c.source_id) AS secret;

-- name: finish_callback
-- Record an attempt at a callback under this lease, and where the callback stands after it:
-- delivered, failed or refused, or pending again in retry_in seconds.
WITH finished AS (
  UPDATE callbacks
  SET state = %(state)s, attempts = attempts + 1, lease_until = NULL,
      next_attempt_at = now() + make_interval(secs => %(retry_in)s),
      finished_at = CASE WHEN %(state)s = 'pending' THEN NULL ELSE now() END
  WHERE account_id = %(account_id)s AND id = %(id)s AND state = 'sending'
    AND lease = %(lease)s
  RETURNING account_id, id, attempts
)
INSERT INTO callback_attempts
       (account_id, callback_id, number, started_at, status, outcome, error, elapsed_ms)
SELECT account_id, id, attempts, now() - make_interval(secs => %(elapsed_ms)s / 1000.0),
       %(status)s, %(outcome)s, %(error)s, %(elapsed_ms)s
FROM finished;

-- name: list_post_callbacks
-- A post's callbacks in the account, oldest first; the next attempt's time while pending.
SELECT c.id, c.event_id, c.post_id, c.url, c.state, c.created_at,
       CASE WHEN c.state = 'pending' THEN c.next_attempt_at END AS next_attempt_at,
       c.finished_at, s.secret IS NOT NULL AS signed
FROM callbacks c
LEFT JOIN signing_secrets s ON s.account_id = c.account_id AND s.source_id = c.source_id
WHERE c.account_id = %(account_id)s AND c.post_id = %(post_id)s
ORDER BY c.id;

-- name: list_callback_attempts
-- The attempts at these callbacks of the account, in order.
SELECT callback_id, number, started_at, outcome, status, error, elapsed_ms
FROM callback_attempts
WHERE account_id = %(account_id)s AND callback_id = ANY(%(ids)s)
ORDER BY callback_id, number;

-- name: insert_signing_secret
-- Give a lead source of the account its signing secret; nothing when it has one.
INSERT INTO signing_secrets (account_id, source_id, secret)
VALUES (%(account_id)s, %(source_id)s, %(secret)s)
ON CONFLICT (account_id, source_id) DO NOTHING
RETURNING created_at;

-- name: rotate_signing_secret
-- Replace a lead source's signing secret; nothing when it has none.
UPDATE signing_secrets SET secret = %(secret)s, rotated_at = now()
WHERE account_id = %(account_id)s AND source_id = %(source_id)s
RETURNING rotated_at AS created_at;
