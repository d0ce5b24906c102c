-- Buyers (clients), their delivery methods and delivery accounts; the distribution queue,
-- the sends it makes, and the scan log that explains each decision.

CREATE TABLE clients (
    account_id           bigint NOT NULL REFERENCES accounts,
    id                   bigint GENERATED ALWAYS AS IDENTITY,
    key                  text,
    name                 text NOT NULL CHECK (name <> ''),
    status               smallint NOT NULL DEFAULT 7,
    client_group         text NOT NULL DEFAULT '',
    time_zone            text NOT NULL DEFAULT 'America/Los_Angeles',
    contact              jsonb NOT NULL DEFAULT '{}',
    username             text NOT NULL DEFAULT '',
    password_hash        text,
    automation           smallint NOT NULL DEFAULT 1,
    secondary_automation smallint NOT NULL DEFAULT 0,
    priority             integer NOT NULL DEFAULT 1,
    weight               integer NOT NULL DEFAULT 1,
    delivery_group       text NOT NULL DEFAULT '',
    use_delivery_tiers   boolean NOT NULL DEFAULT false,
    notes                text NOT NULL DEFAULT '',
    -- round robin: the rotation number of the last lead offered to this buyer
    rr_position          bigint,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, id),
    UNIQUE (account_id, key)
);
CREATE UNIQUE INDEX clients_username ON clients (account_id, lower(username)) WHERE username <> '';

-- Delivery methods. `settings` holds the method's mappings, template, headers, response
-- rules, email and FTP settings and schedule, as validated by server/domain/delivery.py.
-- Outbound credentials (a buyer's Basic password, FTP or SMTP password) must be sent as they
-- are, so they are stored as given and never returned by the API.
CREATE TABLE deliveries (
    account_id   bigint NOT NULL,
    id           bigint GENERATED ALWAYS AS IDENTITY,
    client_id    bigint NOT NULL,
    key          text,
    name         text NOT NULL DEFAULT '',
    type         smallint NOT NULL,
    enabled      boolean NOT NULL DEFAULT true,
    lead_type_id bigint NOT NULL,
    settings     jsonb NOT NULL DEFAULT '{}',
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, id),
    UNIQUE (account_id, client_id, key),
    FOREIGN KEY (account_id, client_id) REFERENCES clients,
    FOREIGN KEY (account_id, lead_type_id) REFERENCES lead_types
);

CREATE TABLE delivery_accounts (
    account_id             bigint NOT NULL,
    id                     bigint GENERATED ALWAYS AS IDENTITY,
    client_id              bigint NOT NULL,
    delivery_id            bigint NOT NULL,
    key                    text,
    description            text NOT NULL DEFAULT '',
    price                  numeric(14, 4) NOT NULL DEFAULT 0 CHECK (price >= 0),
    hour_max               integer NOT NULL DEFAULT -1,
    day_max                integer NOT NULL DEFAULT -1,
    month_max              integer NOT NULL DEFAULT -1,
    use_order              boolean NOT NULL DEFAULT false,
    status                 smallint NOT NULL DEFAULT 1,
    delivery_delay_seconds integer NOT NULL DEFAULT 0 CHECK (delivery_delay_seconds >= 0),
    redirect_url           text NOT NULL DEFAULT '',
    automation_enabled     boolean NOT NULL DEFAULT true,
    account_type           smallint NOT NULL DEFAULT 0,
    agent_name             text NOT NULL DEFAULT '',
    agent_phone            text NOT NULL DEFAULT '',
    criteria               jsonb NOT NULL DEFAULT '[]',
    created_at             timestamptz NOT NULL DEFAULT now(),
    updated_at             timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, id),
    UNIQUE (account_id, client_id, key),
    FOREIGN KEY (account_id, client_id) REFERENCES clients,
    FOREIGN KEY (account_id, delivery_id) REFERENCES deliveries
);

-- Bumped in the transaction of every buyer change, so a process's cached snapshot of the
-- buyers knows when it is stale.
CREATE TABLE buyer_versions (
    account_id bigint NOT NULL REFERENCES accounts,
    version    bigint NOT NULL DEFAULT 1,
    PRIMARY KEY (account_id)
);

-- The outbox: one row per lead to distribute, written in the lead's own transaction.
-- state: pending (to decide, from run_at), waiting (sends in flight), done.
CREATE TABLE distribution_jobs (
    account_id  bigint NOT NULL,
    lead_id     bigint NOT NULL,
    state       text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'waiting', 'done')),
    run_at      timestamptz NOT NULL DEFAULT now(),
    lease_until timestamptz,
    plan        jsonb,               -- the waterfall: [{"account": id, "client": id}, ...]
    cursor      integer NOT NULL DEFAULT 0,
    max_sells   integer NOT NULL DEFAULT 1,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, lead_id),
    FOREIGN KEY (account_id, lead_id) REFERENCES leads
);
CREATE INDEX distribution_jobs_due ON distribution_jobs (run_at) WHERE state = 'pending';

-- Each delivery of a lead to a delivery account. status: 1 scheduled, 2 in flight, 3 sold,
-- 4 rejected, 5 failed (the proto's SendStatus). Scheduled, in-flight and sold sends count
-- against the account's caps.
CREATE TABLE sends (
    account_id      bigint NOT NULL,
    id              bigint GENERATED ALWAYS AS IDENTITY,
    lead_id         bigint NOT NULL,
    client_id       bigint NOT NULL,
    delivery_account_id bigint NOT NULL,
    delivery_id     bigint NOT NULL,
    status          smallint NOT NULL,
    automated       boolean NOT NULL DEFAULT true,
    price           numeric(14, 4) NOT NULL DEFAULT 0,
    request         text NOT NULL DEFAULT '',
    response        text NOT NULL DEFAULT '',
    reason          text NOT NULL DEFAULT '',
    redirect_url    text NOT NULL DEFAULT '',
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    lease_until     timestamptz,
    elapsed_ms      double precision NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL DEFAULT now(),
    sent_at         timestamptz,
    PRIMARY KEY (account_id, id),
    FOREIGN KEY (account_id, lead_id) REFERENCES leads,
    FOREIGN KEY (account_id, client_id) REFERENCES clients,
    FOREIGN KEY (account_id, delivery_account_id) REFERENCES delivery_accounts,
    FOREIGN KEY (account_id, delivery_id) REFERENCES deliveries
);
CREATE INDEX sends_lead ON sends (account_id, lead_id);
CREATE INDEX sends_caps ON sends (account_id, delivery_account_id, created_at)
    WHERE status IN (1, 2, 3);
CREATE INDEX sends_shares ON sends (account_id, client_id, created_at) WHERE status IN (1, 2, 3);
CREATE INDEX sends_due ON sends (next_attempt_at) WHERE status IN (1, 2);

CREATE TABLE scan_logs (
    account_id bigint NOT NULL,
    id         bigint GENERATED ALWAYS AS IDENTITY,
    lead_id    bigint NOT NULL,
    scanned_at timestamptz NOT NULL DEFAULT now(),
    log        text NOT NULL,
    PRIMARY KEY (account_id, id),
    FOREIGN KEY (account_id, lead_id) REFERENCES leads
);
CREATE INDEX scan_logs_lead ON scan_logs (account_id, lead_id);

-- Round robin rotation numbers, shared by every process.
CREATE SEQUENCE rotation_numbers;
