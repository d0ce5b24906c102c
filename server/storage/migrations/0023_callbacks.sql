-- Callbacks: the POST that tells a lead source how its queued (async) post was processed, to
-- the returnurl it posted with (server/services/callbacks.py). Written in the transaction
-- that records the processed post, then leased, sent outside any transaction and retried
-- with backoff, as notices are.

-- Whether the account's callbacks may go to private, loopback and link-local addresses.
ALTER TABLE accounts ADD COLUMN allow_private_callbacks boolean NOT NULL DEFAULT false;

-- A lead source's secret for signing its callbacks. Stored as given, as outbound credentials
-- are (deliveries' passwords): it must sign, so it cannot be kept hashed. Its own table keeps
-- it out of every read of sources; it is never read back but to sign.
CREATE TABLE signing_secrets (
    account_id  bigint NOT NULL,
    source_id   bigint NOT NULL,
    secret      text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    rotated_at  timestamptz,
    PRIMARY KEY (account_id, source_id),
    FOREIGN KEY (account_id, source_id) REFERENCES sources ON DELETE CASCADE
);

-- One callback per post. state: pending (due from next_attempt_at), sending (leased until
-- lease_until; `lease` counts the leases, so only the process holding the latest may finish
-- it), delivered, failed (no 2xx answer in the retry schedule), refused (its address may not
-- be called). event_id: sent with every attempt, for the receiver's idempotency.
CREATE TABLE callbacks (
    account_id      bigint NOT NULL,
    id              bigint GENERATED ALWAYS AS IDENTITY,
    event_id        uuid NOT NULL,
    post_id         uuid NOT NULL,
    source_id       bigint NOT NULL,
    url             text NOT NULL,
    content_type    text NOT NULL,
    body            bytea NOT NULL,
    state           text NOT NULL DEFAULT 'pending'
                    CHECK (state IN ('pending', 'sending', 'delivered', 'failed', 'refused')),
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    lease           integer NOT NULL DEFAULT 0,
    lease_until     timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    finished_at     timestamptz,
    PRIMARY KEY (account_id, id),
    FOREIGN KEY (account_id, source_id) REFERENCES sources
);
CREATE UNIQUE INDEX callbacks_post ON callbacks (post_id, account_id);
CREATE UNIQUE INDEX callbacks_event ON callbacks (event_id);
CREATE INDEX callbacks_due ON callbacks (next_attempt_at) WHERE state IN ('pending', 'sending');

-- Every finished attempt at a callback: when it started, the HTTP status if an answer came,
-- its outcome (delivered, failed, refused), the error and how long it took.
CREATE TABLE callback_attempts (
    account_id   bigint NOT NULL,
    callback_id  bigint NOT NULL,
    number       integer NOT NULL,
    started_at   timestamptz NOT NULL,
    status       smallint,
    outcome      text NOT NULL CHECK (outcome IN ('delivered', 'failed', 'refused')),
    error        text NOT NULL DEFAULT '',
    elapsed_ms   double precision NOT NULL,
    PRIMARY KEY (account_id, callback_id, number),
    FOREIGN KEY (account_id, callback_id) REFERENCES callbacks ON DELETE CASCADE
);
