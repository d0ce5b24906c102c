-- name: insert_account
-- Create a tenant.
INSERT INTO accounts (name, time_zone) VALUES (%(name)s, %(time_zone)s) RETURNING account_id;

-- name: list_accounts
-- Every tenant, oldest first (operator command line only).
SELECT account_id, name, time_zone, created_at FROM accounts
WHERE account_id <> 0  -- reserved for posts that name no known lead source
ORDER BY account_id;

-- name: insert_key
-- Store a new API key's digest; source_id is NULL for an account admin key.
INSERT INTO api_keys (account_id, source_id, prefix, digest, name)
VALUES (%(account_id)s, %(source_id)s, %(prefix)s, %(digest)s, %(name)s)
RETURNING id, name, prefix, created_at, revoked_at, last_used_at;

-- name: list_keys
-- An account's admin keys (source_id NULL) or one source's keys, oldest first.
SELECT id, name, prefix, created_at, revoked_at, last_used_at FROM api_keys
WHERE account_id = %(account_id)s AND source_id IS NOT DISTINCT FROM %(source_id)s
ORDER BY id;

-- name: revoke_key
-- Revoke a live key of the account (and source); returns nothing when there is none.
UPDATE api_keys SET revoked_at = now()
WHERE account_id = %(account_id)s AND id = %(id)s
  AND source_id IS NOT DISTINCT FROM %(source_id)s AND revoked_at IS NULL
RETURNING id;

-- name: find_live_key
-- The live key with this public prefix, to be checked against the presented digest, and
-- whether its use is due to be recorded (touch_key).
SELECT account_id, id, source_id, digest,
       last_used_at IS NULL OR last_used_at < now() - interval '1 minute' AS touch_due
FROM api_keys
WHERE prefix = %(prefix)s AND revoked_at IS NULL;

-- name: touch_key
-- Record that a key was used (at most once a minute, to spare writes).
UPDATE api_keys SET last_used_at = now()
WHERE account_id = %(account_id)s AND id = %(id)s
  AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute');

-- name: get_account_settings
-- The settings an account's admin may change.
SELECT allow_private_callbacks, max_queued_posts, post_body_days FROM accounts
WHERE account_id = %(account_id)s;

-- name: update_account_settings
-- Change the settings named by set_allow, set_max_queued and set_body_days; the settings
-- after.
UPDATE accounts
SET allow_private_callbacks = CASE WHEN %(set_allow)s THEN %(allow)s::boolean
                                   ELSE allow_private_callbacks END,
    max_queued_posts = CASE WHEN %(set_max_queued)s THEN %(max_queued_posts)s::integer
                            ELSE max_queued_posts END,
    post_body_days = CASE WHEN %(set_body_days)s THEN %(post_body_days)s::integer
                          ELSE post_body_days END
WHERE account_id = %(account_id)s
RETURNING allow_private_callbacks, max_queued_posts, post_body_days;
