-- Computed fields (LeadExec's Computed and ComputedExpr): a field whose value is worked out
-- from the lead's other fields by this expression (server/domain/catalog/computed.py), not
-- posted; '' = a posted field.
ALTER TABLE lead_fields ADD COLUMN computed text NOT NULL DEFAULT '';
