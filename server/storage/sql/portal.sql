-- name: open_sign_in_attempts
-- Make sure a user name has a row of attempts, so that it can be locked.
INSERT INTO sign_in_attempts (account_id, username, failures, window_start)
VALUES (%(account_id)s, %(username)s, 0, now())
ON CONFLICT (account_id, username) DO NOTHING;

-- name: lock_sign_in_attempts
-- A user name's failed sign-ins, locked until the transaction ends: concurrent attempts
-- count one after the other.
SELECT failures, window_start, locked_until
FROM sign_in_attempts
WHERE account_id = %(account_id)s AND username = %(username)s
FOR UPDATE;

-- name: save_sign_in_attempts
-- A user name's failed sign-ins after one more.
UPDATE sign_in_attempts
SET failures = %(failures)s, window_start = %(window_start)s, locked_until = %(locked_until)s
WHERE account_id = %(account_id)s AND username = %(username)s;

-- name: forget_sign_in_attempts
-- A user name signed in: its failures no longer count.
DELETE FROM sign_in_attempts WHERE account_id = %(account_id)s AND username = %(username)s;

-- name: forget_stale_sign_in_attempts
-- Rows whose window and lock are over count for nothing: some are deleted on each failure,
-- so guessing at made-up user names cannot grow the table without bound.
DELETE FROM sign_in_attempts
WHERE (account_id, username) IN (
    SELECT account_id, username FROM sign_in_attempts
    WHERE account_id = %(account_id)s AND window_start < %(before)s
      AND (locked_until IS NULL OR locked_until < %(now)s)
    LIMIT 100
);

-- name: client_password
-- The buyer with this portal user name (ignoring case), and its password's hash.
SELECT id, password_hash FROM clients
WHERE account_id = %(account_id)s AND lower(username) = %(username)s AND username <> '';

-- name: client_username_taken
-- Whether a buyer of the account has this portal user name (ignoring case).
SELECT EXISTS (
    SELECT 1 FROM clients
    WHERE account_id = %(account_id)s AND lower(username) = %(username)s AND username <> ''
) AS taken;

-- name: source_username_taken
-- Whether a lead source of the account other than `source_id` has this user name.
SELECT EXISTS (
    SELECT 1 FROM sources
    WHERE account_id = %(account_id)s AND lower(username) = %(username)s
      AND id <> %(source_id)s
) AS taken;
