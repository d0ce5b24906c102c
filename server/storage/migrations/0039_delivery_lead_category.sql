-- A delivery method's lead category (LeadExec's DeliveryType.LeadCatUID; docs/billing.md,
-- "Records"): recorded and answered; NULL = none.
ALTER TABLE deliveries ADD COLUMN lead_category_id bigint,
    ADD FOREIGN KEY (account_id, lead_category_id) REFERENCES lead_categories;
