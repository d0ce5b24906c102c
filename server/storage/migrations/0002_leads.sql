-- The post log and stored leads.
-- A post that cannot be tied to any account (no or unknown vid) is still logged: it belongs to
-- the reserved account 0, which no key can ever authenticate as.

INSERT INTO accounts (account_id, name) OVERRIDING SYSTEM VALUE
VALUES (0, '(posts not tied to an account)');

CREATE TABLE posts (
    account_id        bigint NOT NULL REFERENCES accounts,
    id                uuid NOT NULL,
    received_at       timestamptz NOT NULL DEFAULT now(),
    source_id         bigint,
    campaign_id       bigint,
    lead_type_id      bigint,
    remote_ip         text NOT NULL DEFAULT '',
    request_format    text NOT NULL DEFAULT '',
    request_body      bytea NOT NULL DEFAULT '',
    request_truncated boolean NOT NULL DEFAULT false,
    lead_index        integer NOT NULL DEFAULT 0,
    is_valid          boolean NOT NULL,
    response_type     smallint NOT NULL,
    response_details  text NOT NULL,
    lead_id           bigint,
    price             numeric(14, 4) NOT NULL DEFAULT 0,
    steps             jsonb NOT NULL DEFAULT '[]',
    PRIMARY KEY (account_id, id)
);
-- A PostID arrives alone on the status URL: find its account without knowing it.
CREATE UNIQUE INDEX posts_id ON posts (id);
CREATE INDEX posts_campaign_time ON posts (account_id, campaign_id, received_at);

CREATE TABLE leads (
    account_id        bigint NOT NULL,
    id                bigint GENERATED ALWAYS AS IDENTITY,
    post_id           uuid NOT NULL,
    source_id         bigint NOT NULL,
    campaign_id       bigint NOT NULL,
    lead_type_id      bigint NOT NULL,
    received_at       timestamptz NOT NULL DEFAULT now(),
    reference         text NOT NULL DEFAULT '',
    no_sell           boolean NOT NULL DEFAULT false,
    send_delay_hours  numeric(8, 2) NOT NULL DEFAULT 0,
    fields            jsonb NOT NULL,
    extras            jsonb NOT NULL DEFAULT '{}',
    duplicate_key     bytea,
    pricing_model     text NOT NULL,
    price             numeric(14, 4) NOT NULL DEFAULT 0,
    pending_qc        boolean NOT NULL DEFAULT false,
    qc_reviewed_at    timestamptz,
    qc_rejected       boolean NOT NULL DEFAULT false,
    qc_reason         text NOT NULL DEFAULT '',
    returned_at       timestamptz,
    return_reason     text NOT NULL DEFAULT '',
    PRIMARY KEY (account_id, id),
    FOREIGN KEY (account_id, campaign_id) REFERENCES campaigns,
    FOREIGN KEY (account_id, source_id) REFERENCES sources,
    FOREIGN KEY (account_id, lead_type_id) REFERENCES lead_types
);
CREATE INDEX leads_campaign_time ON leads (account_id, campaign_id, received_at);
CREATE INDEX leads_duplicates ON leads (account_id, lead_type_id, duplicate_key, received_at)
    WHERE duplicate_key IS NOT NULL;
CREATE INDEX leads_reference ON leads (account_id, reference) WHERE reference <> '';
