-- Inbound ping-post (server/services/intake/ping.py): a source pings with a lead's
-- eligibility fields, the buyers the engine would choose are reserved under an order, and
-- the source posts the full lead with that order's id (`orderid`) while it lives.

-- A ping's post log entry is a post log entry (posts) marked as a ping.
ALTER TABLE posts ADD COLUMN ping boolean NOT NULL DEFAULT false;

-- How long a ping's order lives, in seconds.
ALTER TABLE campaigns ADD COLUMN ping_order_seconds integer NOT NULL DEFAULT 60
    CHECK (ping_order_seconds BETWEEN 1 AND 86400);

-- One order per accepted ping. `values` are the ping's cleaned eligibility fields, which
-- the post must repeat; `request_id` is the ping's post log entry. `used_at`/`lead_id`: the
-- post that used it.
CREATE TABLE ping_orders (
    account_id     bigint NOT NULL REFERENCES accounts,
    id             uuid NOT NULL,
    request_id     uuid NOT NULL,
    source_id      bigint NOT NULL,
    campaign_id    bigint NOT NULL,
    lead_type_id   bigint NOT NULL,
    "values"       jsonb NOT NULL,
    price          numeric(14, 4) NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    expires_at     timestamptz NOT NULL,
    used_at        timestamptz,
    lead_id        bigint,
    PRIMARY KEY (account_id, id)
);
-- An order id arrives with a post that names its campaign, not its account's id directly.
CREATE UNIQUE INDEX ping_orders_id ON ping_orders (id);
-- A ping's log finds its order.
CREATE INDEX ping_orders_request ON ping_orders (request_id, account_id);

-- The capacity an order holds: one row per buyer chosen, at its price. A row counts against
-- its delivery account's caps and its order item while the order is unused and unexpired
-- (storage/sql/sends.sql cap_counts, orders.sql list_orders); its post's sends then count.
CREATE TABLE ping_reservations (
    account_id          bigint NOT NULL,
    ping_order_id       uuid NOT NULL,
    position            integer NOT NULL,
    client_id           bigint NOT NULL,
    delivery_account_id bigint NOT NULL,
    price               numeric(14, 4) NOT NULL,
    order_id            bigint,
    order_item_id       bigint,
    created_at          timestamptz NOT NULL DEFAULT now(),
    expires_at          timestamptz NOT NULL,
    used                boolean NOT NULL DEFAULT false,
    PRIMARY KEY (account_id, ping_order_id, position),
    FOREIGN KEY (account_id, ping_order_id) REFERENCES ping_orders ON DELETE CASCADE
);
-- Live reservations per delivery account and per order item, as the cap and order counts
-- read them (account_id last: see docs/decisions.md, secondary indexes).
CREATE INDEX ping_reservations_live ON ping_reservations (delivery_account_id, created_at,
                                                          account_id)
    WHERE NOT used;
CREATE INDEX ping_reservations_item ON ping_reservations (order_item_id, account_id)
    WHERE NOT used AND order_item_id IS NOT NULL;
