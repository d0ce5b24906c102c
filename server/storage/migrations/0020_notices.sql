-- Notices: the emails a sale through a delivery method sends beside its delivery (its
-- EmailNotify notification and its ClientEmail to the consumer), rendered and written by the
-- statement that records the sale (finish_sends), and sent by the notices worker
-- (server/services/distribution/notices.py), leased and retried with backoff as sends are.
-- One per send and kind: a sale recorded twice never queues its emails twice.
-- state: pending (due from next_attempt_at), sending (leased until lease_until), sent, failed.
CREATE TABLE notices (
    account_id      bigint NOT NULL,
    id              bigint GENERATED ALWAYS AS IDENTITY,
    lead_id         bigint NOT NULL,
    send_id         bigint NOT NULL,
    kind            text NOT NULL CHECK (kind IN ('notification', 'consumer')),
    sender          text NOT NULL,
    recipients      text NOT NULL,  -- comma-separated
    subject         text NOT NULL,
    body            text NOT NULL,
    state           text NOT NULL DEFAULT 'pending'
                    CHECK (state IN ('pending', 'sending', 'sent', 'failed')),
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    lease_until     timestamptz,
    error           text NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL DEFAULT now(),
    sent_at         timestamptz,
    PRIMARY KEY (account_id, id),
    FOREIGN KEY (account_id, send_id) REFERENCES sends
);
CREATE UNIQUE INDEX notices_send ON notices (send_id, kind, account_id);
CREATE INDEX notices_due ON notices (next_attempt_at) WHERE state IN ('pending', 'sending');
