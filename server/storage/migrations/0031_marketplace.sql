-- The marketplace (docs/billing.md, "Marketplace"): lead categories, resellers, lead packs and
-- their categories, promo codes, pack purchases (each a client order), and data pulls of aged
-- leads (each lead pulled a sale, once per client).

CREATE TABLE lead_categories (
    account_id bigint NOT NULL REFERENCES accounts,
    id         bigint GENERATED ALWAYS AS IDENTITY,
    name       text NOT NULL CHECK (name <> ''),
    PRIMARY KEY (account_id, id),
    UNIQUE (account_id, name)
);

-- A campaign's lead category (LeadExec's LeadCatUID on a campaign): its leads' category, which
-- an aged lead search may ask for.
ALTER TABLE campaigns ADD COLUMN lead_category_id bigint,
    ADD FOREIGN KEY (account_id, lead_category_id) REFERENCES lead_categories;

CREATE TABLE resellers (
    account_id bigint NOT NULL REFERENCES accounts,
    id         bigint GENERATED ALWAYS AS IDENTITY,
    name       text NOT NULL CHECK (name <> ''),
    PRIMARY KEY (account_id, id),
    UNIQUE (account_id, name)
);

CREATE TABLE lead_pack_categories (
    account_id bigint NOT NULL REFERENCES accounts,
    id         bigint GENERATED ALWAYS AS IDENTITY,
    name       text NOT NULL CHECK (name <> ''),
    PRIMARY KEY (account_id, id),
    UNIQUE (account_id, name)
);

CREATE TABLE lead_packs (
    account_id       bigint NOT NULL,
    id               bigint GENERATED ALWAYS AS IDENTITY,
    description      text NOT NULL DEFAULT '',
    pack_type        smallint NOT NULL CHECK (pack_type IN (1, 2)),
    lead_type_id     bigint NOT NULL,
    lead_category_id bigint,
    pack_category_id bigint,
    reseller_id      bigint,
    quantity         integer NOT NULL CHECK (quantity > 0),
    price            numeric(14, 4) NOT NULL CHECK (price >= 0),
    expires_at       timestamptz,
    start_day        integer NOT NULL DEFAULT 0 CHECK (start_day >= 0),
    end_day          integer NOT NULL DEFAULT 0 CHECK (end_day >= 0),
    order_min        integer NOT NULL DEFAULT 0 CHECK (order_min >= 0),
    order_max        integer NOT NULL DEFAULT 0 CHECK (order_max >= 0),
    include_over_max boolean NOT NULL DEFAULT false,
    criteria         jsonb NOT NULL DEFAULT '[]',
    status           smallint NOT NULL DEFAULT 1,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, id),
    FOREIGN KEY (account_id, lead_type_id) REFERENCES lead_types,
    FOREIGN KEY (account_id, lead_category_id) REFERENCES lead_categories,
    FOREIGN KEY (account_id, pack_category_id) REFERENCES lead_pack_categories,
    FOREIGN KEY (account_id, reseller_id) REFERENCES resellers
);

CREATE TABLE promo_codes (
    account_id    bigint NOT NULL,
    id            bigint GENERATED ALWAYS AS IDENTITY,
    reseller_id   bigint,
    code          text NOT NULL CHECK (code <> ''),
    money_value   numeric(14, 4) NOT NULL DEFAULT 0 CHECK (money_value >= 0),
    percent_value numeric(7, 4) NOT NULL DEFAULT 0
                  CHECK (percent_value >= 0 AND percent_value <= 100),
    expires_at    timestamptz,
    use_limit     integer NOT NULL DEFAULT 0 CHECK (use_limit >= 0),
    client_id     bigint,
    PRIMARY KEY (account_id, id),
    UNIQUE (account_id, code),
    FOREIGN KEY (account_id, reseller_id) REFERENCES resellers,
    FOREIGN KEY (account_id, client_id) REFERENCES clients
);

CREATE TABLE promo_code_packs (
    account_id bigint NOT NULL,
    promo_id   bigint NOT NULL,
    pack_id    bigint NOT NULL,
    PRIMARY KEY (account_id, promo_id, pack_id),
    FOREIGN KEY (account_id, promo_id) REFERENCES promo_codes ON DELETE CASCADE,
    FOREIGN KEY (account_id, pack_id) REFERENCES lead_packs
);

CREATE TABLE pack_purchases (
    account_id          bigint NOT NULL,
    id                  bigint GENERATED ALWAYS AS IDENTITY,
    pack_id             bigint NOT NULL,
    client_id           bigint NOT NULL,
    delivery_account_id bigint NOT NULL,
    quantity            integer NOT NULL CHECK (quantity > 0),
    list_price          numeric(14, 4) NOT NULL,
    discount            numeric(14, 4) NOT NULL,
    price               numeric(14, 4) NOT NULL CHECK (price >= 0),
    promo_id            bigint,
    order_id            bigint NOT NULL,
    bought_at           timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, id),
    FOREIGN KEY (account_id, pack_id) REFERENCES lead_packs,
    FOREIGN KEY (account_id, client_id) REFERENCES clients,
    FOREIGN KEY (account_id, delivery_account_id) REFERENCES delivery_accounts,
    FOREIGN KEY (account_id, promo_id) REFERENCES promo_codes,
    FOREIGN KEY (account_id, order_id) REFERENCES client_orders
);
CREATE INDEX pack_purchases_promo ON pack_purchases (account_id, promo_id)
    WHERE promo_id IS NOT NULL;

CREATE TABLE data_pulls (
    account_id          bigint NOT NULL,
    id                  bigint GENERATED ALWAYS AS IDENTITY,
    client_id           bigint NOT NULL,
    delivery_account_id bigint NOT NULL,
    total_price         numeric(14, 4) NOT NULL CHECK (total_price >= 0),
    status              integer NOT NULL DEFAULT 0,
    card_transaction_id bigint NOT NULL DEFAULT 0,
    lead_ids            bigint[] NOT NULL DEFAULT '{}',  -- as pulled, in order
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, id),
    FOREIGN KEY (account_id, client_id) REFERENCES clients,
    FOREIGN KEY (account_id, delivery_account_id) REFERENCES delivery_accounts
);

-- Each lead a client pulled, with the send that sold it: one row per client and lead, so a
-- lead pulled again (an edited or resubmitted pull) is never sold to that client twice.
CREATE TABLE data_pull_leads (
    account_id bigint NOT NULL,
    client_id  bigint NOT NULL,
    lead_id    bigint NOT NULL,
    pull_id    bigint NOT NULL,
    send_id    bigint NOT NULL,
    PRIMARY KEY (account_id, client_id, lead_id),
    FOREIGN KEY (account_id, pull_id) REFERENCES data_pulls,
    FOREIGN KEY (account_id, send_id) REFERENCES sends,
    FOREIGN KEY (account_id, lead_id) REFERENCES leads
);
CREATE INDEX data_pull_leads_pull ON data_pull_leads (account_id, pull_id);
