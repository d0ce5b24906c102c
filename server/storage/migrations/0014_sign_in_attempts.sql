-- Failed portal sign-ins per user name, so that sign-in cannot be used to guess passwords.
-- Unknown user names are counted too (their absence must not show); a row whose window and
-- lock are over is reused, and rows are deleted on success.
CREATE TABLE sign_in_attempts (
    account_id    bigint NOT NULL REFERENCES accounts,
    username      text NOT NULL,          -- lower-cased
    failures      integer NOT NULL DEFAULT 0,
    window_start  timestamptz NOT NULL DEFAULT now(),
    locked_until  timestamptz,
    PRIMARY KEY (account_id, username)
);
