-- The account types a lead's endpoint sells to (transfer: live transfer; redirects:
-- redirect), kept on the lead too, so a job written later (QC approval, UpdateLead with
-- processDelivery) restricts the lead the same way. NULL = every type.
ALTER TABLE leads ADD COLUMN account_types smallint[];
