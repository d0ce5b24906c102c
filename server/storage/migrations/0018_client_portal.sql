-- A buyer's web portal settings (LeadExec's ShowLeadGrade, ShowLeadSource, ShowCampaign,
-- AllowCalls, AllowReassign, OverrideReassign): an object naming the settings that are on
-- (server/storage/buyers.py, portal_json), so '{}', every buyer's until now, is all off.
ALTER TABLE clients ADD COLUMN portal jsonb NOT NULL DEFAULT '{}'
    CHECK (jsonb_typeof(portal) = 'object');
