-- A lead pack's order takes only the leads the pack sells (docs/billing.md, "Buying a pack"):
-- the pack's criteria and lead category as they were when it was bought, copied onto the
-- order, so a later edit of the pack does not change orders already bought.

CREATE TABLE order_filters (
    account_id       bigint NOT NULL,
    order_id         bigint NOT NULL,
    lead_type_id     bigint NOT NULL,
    pack_id          bigint NOT NULL,
    lead_category_id bigint,  -- NULL: any category
    criteria         jsonb NOT NULL DEFAULT '[]',
    PRIMARY KEY (account_id, order_id),
    FOREIGN KEY (account_id, order_id) REFERENCES client_orders ON DELETE CASCADE,
    FOREIGN KEY (account_id, lead_type_id) REFERENCES lead_types
);
-- the engine's snapshot reads a lead type's filters
CREATE INDEX order_filters_lead_type ON order_filters (account_id, lead_type_id);
