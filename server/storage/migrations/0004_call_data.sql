-- Call data posted with a lead (/processor/insert/calldata): ivrnumber, callduration,
-- callresult and calldate, typed and keyed by the pseudo-field names of
-- server/domain/call_data.py, so delivery account criteria can read them.
ALTER TABLE leads ADD COLUMN call_data jsonb NOT NULL DEFAULT '{}';

-- The delivery account types a lead's waterfall may use: the transfer endpoint sells only to
-- live-transfer accounts, the redirect endpoints only to redirect accounts. NULL = every type.
ALTER TABLE distribution_jobs ADD COLUMN account_types smallint[];
