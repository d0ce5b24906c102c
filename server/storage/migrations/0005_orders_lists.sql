-- Buyers' orders with their items, distribution lists (LeadExec custom lists), and the order
-- and item each send counts against.

-- status: 1 Open, 2 Closed, 3 OnHold; renewal: 0 No_Renewal, 1 On_End_Date, 2 On_Qty_Fill
-- (server/domain/orders.py). start_at/end_at are as configured; the current period moves
-- forward on renewal, and an order counts the sends made against it in its current period.
CREATE TABLE client_orders (
    account_id   bigint NOT NULL,
    id           bigint GENERATED ALWAYS AS IDENTITY,
    client_id    bigint NOT NULL,
    key          text,
    start_at     timestamptz NOT NULL,
    end_at       timestamptz NOT NULL CHECK (end_at > start_at),
    status       smallint NOT NULL DEFAULT 1,
    renewal      smallint NOT NULL DEFAULT 0,
    auto_charge  boolean NOT NULL DEFAULT false,
    period_start timestamptz NOT NULL,
    period_end   timestamptz NOT NULL,
    renewals     integer NOT NULL DEFAULT 0,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, id),
    UNIQUE (account_id, client_id, key),
    FOREIGN KEY (account_id, client_id) REFERENCES clients
);

CREATE TABLE client_order_items (
    account_id          bigint NOT NULL,
    id                  bigint GENERATED ALWAYS AS IDENTITY,
    order_id            bigint NOT NULL,
    key                 text,
    description         text NOT NULL DEFAULT '',
    quantity            integer NOT NULL CHECK (quantity > 0),
    delivery_account_id bigint,          -- NULL = any of the buyer's accounts using orders
    PRIMARY KEY (account_id, id),
    UNIQUE (account_id, order_id, key),
    FOREIGN KEY (account_id, order_id) REFERENCES client_orders,
    FOREIGN KEY (account_id, delivery_account_id) REFERENCES delivery_accounts
);

ALTER TABLE sends ADD COLUMN order_id bigint, ADD COLUMN order_item_id bigint,
    ADD FOREIGN KEY (account_id, order_id) REFERENCES client_orders,
    ADD FOREIGN KEY (account_id, order_item_id) REFERENCES client_order_items;
CREATE INDEX sends_orders ON sends (account_id, order_item_id, created_at)
    WHERE status IN (1, 2, 3) AND order_item_id IS NOT NULL;

-- status: 1 Active, 2 Disabled. field/depend_field name lead fields of the lead type.
CREATE TABLE distribution_lists (
    account_id        bigint NOT NULL,
    id                bigint GENERATED ALWAYS AS IDENTITY,
    key               text,
    lead_type_id      bigint NOT NULL,
    description       text NOT NULL DEFAULT '',
    field_name        text NOT NULL,
    default_client_id bigint,
    status            smallint NOT NULL DEFAULT 1,
    depend_field      text NOT NULL DEFAULT '',
    depend_value      text NOT NULL DEFAULT '',
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, id),
    UNIQUE (account_id, key),
    FOREIGN KEY (account_id, lead_type_id) REFERENCES lead_types,
    FOREIGN KEY (account_id, default_client_id) REFERENCES clients
);

-- One value of the list's field; value is compared as trimmed, case-folded text.
CREATE TABLE distribution_list_items (
    account_id bigint NOT NULL,
    list_id    bigint NOT NULL,
    value      text NOT NULL,
    shown      text NOT NULL,            -- the value as configured
    client_id  bigint,                   -- NULL = unassigned
    PRIMARY KEY (account_id, list_id, value),
    FOREIGN KEY (account_id, list_id) REFERENCES distribution_lists ON DELETE CASCADE,
    FOREIGN KEY (account_id, client_id) REFERENCES clients
);
