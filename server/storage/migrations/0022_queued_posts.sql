-- Queued posts: what the receiver's /async insert URLs accept (LeadExec's async requests).
-- A post is checked (who posts it, for which campaign, whether it can be read) and written
-- with its post log entry (posts, whose id is its PostID) and this row in one transaction;
-- a worker leases it, processes it as the synchronous URL would, and records the answer that
-- URL would have given with the state change, guarded by its lease
-- (server/services/intake/queue_worker.py).
-- state: queued (due from next_attempt_at; lease_until, when set, reserves it for the
-- process that queued it), processing (leased until lease_until), processed (answered).
-- attempts: how many times it was leased; a write names the attempt it holds, so a worker
-- whose lease was taken over writes nothing.
CREATE TABLE queued_posts (
    account_id      bigint NOT NULL,
    post_id         uuid NOT NULL,
    source_id       bigint NOT NULL,
    state           text NOT NULL DEFAULT 'queued'
                    CHECK (state IN ('queued', 'processing', 'processed')),
    -- the request as the lead service reads it (JSON), without its body (the post log entry
    -- keeps that) and without its password and API key, which are kept apart until processed
    request         bytea NOT NULL,
    credentials     bytea,
    return_url      text NOT NULL DEFAULT '',
    -- how the answer is written: the insert URL's name, json or xml, the receiver's base URL
    endpoint        text NOT NULL,
    response_format text NOT NULL,
    receiver_url    text NOT NULL,
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    lease_until     timestamptz,
    -- the answers of the leads stored so far, each written in its lead's transaction: a post
    -- taken over after a crash goes on from the first lead not stored
    outcomes        jsonb NOT NULL DEFAULT '[]',
    answer_type     text NOT NULL DEFAULT '',
    answer          bytea,
    queued_at       timestamptz NOT NULL DEFAULT now(),
    processed_at    timestamptz,
    PRIMARY KEY (account_id, post_id),
    FOREIGN KEY (account_id, post_id) REFERENCES posts
);
CREATE INDEX queued_posts_due ON queued_posts (next_attempt_at) WHERE state <> 'processed';

-- How many posts each account has queued and not yet processed, kept by the statement that
-- queues a post and the one that finishes it: the account's limit is checked on one row, in
-- the statement that queues, whatever the number waiting.
CREATE TABLE queued_post_counts (
    account_id bigint PRIMARY KEY REFERENCES accounts,
    waiting    integer NOT NULL CHECK (waiting >= 0)
);
