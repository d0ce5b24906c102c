-- Accounts, API keys, lead types and fields, lead sources and campaigns.
-- Every table carries account_id and leads its primary key with it, and foreign keys include
-- it, so rows can never point into another account and tables can be distributed by account.

CREATE TABLE accounts (
    account_id  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        text NOT NULL CHECK (name <> ''),
    time_zone   text NOT NULL DEFAULT 'America/Los_Angeles',
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE lead_types (
    account_id    bigint NOT NULL REFERENCES accounts,
    id            bigint GENERATED ALWAYS AS IDENTITY,
    key           text,
    name          text NOT NULL,
    description   text NOT NULL DEFAULT '',
    industry_type integer NOT NULL DEFAULT 0,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, id),
    UNIQUE (account_id, key)
);

CREATE TABLE lead_fields (
    account_id      bigint NOT NULL,
    id              bigint GENERATED ALWAYS AS IDENTITY,
    lead_type_id    bigint NOT NULL,
    name            text NOT NULL,
    data_type       text NOT NULL,
    required        boolean NOT NULL DEFAULT false,
    validation      text NOT NULL DEFAULT '',
    invalid_chars   text NOT NULL DEFAULT '',
    enumerations    text[] NOT NULL DEFAULT '{}',
    format_string   text NOT NULL DEFAULT '',
    special         text NOT NULL DEFAULT 'No_SpecialBit',
    description     text NOT NULL DEFAULT '',
    duplicate_check boolean NOT NULL DEFAULT false,
    position        integer NOT NULL DEFAULT 0,
    PRIMARY KEY (account_id, id),
    FOREIGN KEY (account_id, lead_type_id) REFERENCES lead_types ON DELETE CASCADE
);
CREATE UNIQUE INDEX lead_fields_name ON lead_fields (account_id, lead_type_id, lower(name));

CREATE TABLE sources (
    account_id          bigint NOT NULL REFERENCES accounts,
    id                  bigint GENERATED ALWAYS AS IDENTITY,
    key                 text,
    name                text NOT NULL,
    email               text NOT NULL DEFAULT '',
    address             text NOT NULL DEFAULT '',
    address2            text NOT NULL DEFAULT '',
    city                text NOT NULL DEFAULT '',
    state               text NOT NULL DEFAULT '',
    zip                 text NOT NULL DEFAULT '',
    phone               text NOT NULL DEFAULT '',
    fax                 text NOT NULL DEFAULT '',
    status              smallint NOT NULL DEFAULT 1,
    username            text,
    password_hash       text,
    default_return_days integer NOT NULL DEFAULT 0,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, id),
    UNIQUE (account_id, key)
);
CREATE UNIQUE INDEX sources_username ON sources (account_id, lower(username));

CREATE TABLE campaigns (
    account_id                 bigint NOT NULL,
    id                         bigint GENERATED ALWAYS AS IDENTITY,
    key                        text,
    source_id                  bigint NOT NULL,
    lead_type_id               bigint NOT NULL,
    name                       text NOT NULL,
    channel                    smallint NOT NULL,
    status                     smallint NOT NULL DEFAULT 1,
    password_hash              text,
    require_api_key            boolean NOT NULL DEFAULT false,
    pricing_model              text NOT NULL DEFAULT 'per_lead'
                               CHECK (pricing_model IN ('per_lead', 'per_sale', 'revenue_share')),
    pricing_amount             numeric(14, 4) NOT NULL DEFAULT 0 CHECK (pricing_amount >= 0),
    hour_max                   integer NOT NULL DEFAULT -1,
    day_max                    integer NOT NULL DEFAULT -1,
    month_max                  integer NOT NULL DEFAULT -1,
    count_returns              boolean NOT NULL DEFAULT false,
    dup_day_max                integer NOT NULL DEFAULT 30,
    max_sell                   integer NOT NULL DEFAULT 1,
    use_qc_bin                 boolean NOT NULL DEFAULT false,
    return_days                integer NOT NULL DEFAULT 0,
    email_verify               boolean NOT NULL DEFAULT false,
    append_city_state_from_zip boolean NOT NULL DEFAULT false,
    created_at                 timestamptz NOT NULL DEFAULT now(),
    updated_at                 timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, id),
    UNIQUE (account_id, key),
    FOREIGN KEY (account_id, source_id) REFERENCES sources,
    FOREIGN KEY (account_id, lead_type_id) REFERENCES lead_types
);

CREATE TABLE campaign_rules (
    account_id    bigint NOT NULL,
    campaign_id   bigint NOT NULL,
    position      integer NOT NULL,
    lead_field_id bigint NOT NULL,
    operator      smallint NOT NULL,
    value         text NOT NULL,
    PRIMARY KEY (account_id, campaign_id, position),
    FOREIGN KEY (account_id, campaign_id) REFERENCES campaigns ON DELETE CASCADE,
    FOREIGN KEY (account_id, lead_field_id) REFERENCES lead_fields ON DELETE RESTRICT
);

-- Admin keys (source_id NULL) authenticate gRPC and service.asmx; source keys authenticate
-- a lead source's posts. Only the SHA-256 digest of a key is stored.
CREATE TABLE api_keys (
    account_id   bigint NOT NULL REFERENCES accounts,
    id           bigint GENERATED ALWAYS AS IDENTITY,
    source_id    bigint,
    prefix       text NOT NULL,
    digest       bytea NOT NULL,
    name         text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL DEFAULT now(),
    revoked_at   timestamptz,
    last_used_at timestamptz,
    PRIMARY KEY (account_id, id),
    FOREIGN KEY (account_id, source_id) REFERENCES sources
);
-- The prefix is random, so looking a key up by it needs no account first.
CREATE UNIQUE INDEX api_keys_prefix ON api_keys (prefix);
