-- A ledger per buyer (docs/billing.md, "Ledger and payments"): every sale a charge, every
-- return a credit, payments, card charges and manual adjustments, each entry with the balance
-- it left. Amounts are to the cent. Cards are kept as the payment gateway's token only.

-- A buyer's balance and billing settings, one row per buyer that has a ledger. The row is
-- the lock every change of the balance takes (a sale's charge, a prepaid buyer's check before
-- a send), so the running balance and the prepaid check are exact across processes.
-- prepaid: the engine passes the buyer over when its balance cannot cover the next lead;
-- stop_at_zero: "cannot cover" means below the lead's price (else: at or below zero).
-- auto_charge_below / auto_charge_amount: when a sale takes the balance below the first, a
-- charge of the second is queued on the card on file (NULL: no auto-charge).
CREATE TABLE client_billing (
    account_id          bigint NOT NULL,
    client_id           bigint NOT NULL,
    balance             numeric(14, 2) NOT NULL DEFAULT 0,
    prepaid             boolean NOT NULL DEFAULT false,
    stop_at_zero        boolean NOT NULL DEFAULT true,
    auto_charge_below   numeric(14, 2),
    auto_charge_amount  numeric(14, 2) CHECK (auto_charge_amount > 0),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, client_id),
    FOREIGN KEY (account_id, client_id) REFERENCES clients ON DELETE CASCADE
);
CREATE INDEX client_billing_prepaid ON client_billing (account_id) WHERE prepaid;

-- Append-only. amount: positive credits the buyer (return, payment, card charge), negative
-- charges it (sale); balance: the buyer's balance after this entry.
CREATE TABLE ledger_entries (
    account_id  bigint NOT NULL,
    id          bigint GENERATED ALWAYS AS IDENTITY,
    client_id   bigint NOT NULL,
    kind        text NOT NULL
                CHECK (kind IN ('sale', 'return', 'payment', 'card', 'adjustment')),
    amount      numeric(14, 2) NOT NULL,
    balance     numeric(14, 2) NOT NULL,
    send_id     bigint,
    lead_id     bigint,
    payment_id  bigint,
    charge_id   bigint,
    note        text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, id)
);
CREATE INDEX ledger_entries_client ON ledger_entries (account_id, client_id, created_at, id);

-- Payments recorded by AddPayment; a declined one (valid false) is kept and credits nothing.
CREATE TABLE payments (
    account_id           bigint NOT NULL,
    id                   bigint GENERATED ALWAYS AS IDENTITY,
    client_id            bigint NOT NULL,
    order_id             bigint,
    card_transaction_id  bigint,
    amount               numeric(14, 2) NOT NULL CHECK (amount > 0),
    valid                boolean NOT NULL,
    response             text NOT NULL DEFAULT '',
    created_at           timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, id),
    FOREIGN KEY (account_id, client_id) REFERENCES clients
);

-- A buyer's cards on file: the gateway's token and what may be shown. Never the number or
-- the security code.
CREATE TABLE credit_cards (
    account_id    bigint NOT NULL,
    id            bigint GENERATED ALWAYS AS IDENTITY,
    client_id     bigint NOT NULL,
    token         text NOT NULL,
    brand         text NOT NULL,
    last_four     text NOT NULL CHECK (last_four ~ '^[0-9]{4}$'),
    exp_month     smallint NOT NULL CHECK (exp_month BETWEEN 1 AND 12),
    exp_year      smallint NOT NULL,
    company       text NOT NULL DEFAULT '',
    first_name    text NOT NULL DEFAULT '',
    last_name     text NOT NULL DEFAULT '',
    name_on_card  text NOT NULL DEFAULT '',
    bill_address  text NOT NULL DEFAULT '',
    bill_city     text NOT NULL DEFAULT '',
    bill_state    text NOT NULL DEFAULT '',
    bill_zip      text NOT NULL DEFAULT '',
    enabled       boolean NOT NULL DEFAULT true,
    is_primary    boolean NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, id),
    FOREIGN KEY (account_id, client_id) REFERENCES clients ON DELETE CASCADE
);
CREATE UNIQUE INDEX credit_cards_primary ON credit_cards (account_id, client_id) WHERE is_primary;

-- Card charges, one per idempotency key. state: queued (an auto-charge waiting for the runner,
-- due from next_attempt_at; leased while lease_until is ahead), pending (asked, no final
-- answer yet: a gateway timeout; a retry with the same key asks again), approved, declined.
CREATE TABLE card_charges (
    account_id       bigint NOT NULL,
    id               bigint GENERATED ALWAYS AS IDENTITY,
    client_id        bigint NOT NULL,
    idempotency_key  text NOT NULL CHECK (idempotency_key <> ''),
    amount           numeric(14, 2) NOT NULL CHECK (amount > 0),
    token            text NOT NULL DEFAULT '',
    brand            text NOT NULL DEFAULT '',
    last_four        text NOT NULL DEFAULT '',
    exp_month        smallint NOT NULL DEFAULT 0,
    exp_year         smallint NOT NULL DEFAULT 0,
    auto             boolean NOT NULL DEFAULT false,
    state            text NOT NULL DEFAULT 'pending'
                     CHECK (state IN ('queued', 'pending', 'approved', 'declined')),
    response         text NOT NULL DEFAULT '',
    reference        text NOT NULL DEFAULT '',
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    lease_until      timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    finished_at      timestamptz,
    PRIMARY KEY (account_id, id),
    FOREIGN KEY (account_id, client_id) REFERENCES clients
);
-- led by the key, not account_id, so a lookup by primary key never takes it (0012)
CREATE UNIQUE INDEX card_charges_key ON card_charges (idempotency_key, account_id);
CREATE INDEX card_charges_due ON card_charges (next_attempt_at) WHERE state = 'queued';

-- A prepaid buyer's sends under way (scheduled, in flight), whose price its balance must still
-- cover: read under its balance row's lock before each send to it.
CREATE INDEX sends_under_way ON sends (account_id, client_id) WHERE status IN (1, 2);

-- A buyer's auto-charge under way, which a sale looks for before queueing another.
CREATE INDEX card_charges_auto ON card_charges (account_id, client_id)
    WHERE auto AND state IN ('queued', 'pending');
