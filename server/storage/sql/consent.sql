-- name: lead_properties
-- A lead's V2 properties, and whether it was posted as a 1-to-1 lead.
SELECT id, reference, no_sell, tags, consented_accounts IS NOT NULL AS one_to_one
FROM leads
WHERE account_id = %(account_id)s AND id = %(lead_id)s;

-- name: consent_evidence
-- A lead's consent records, oldest first. (The table is append-only: no statement changes
-- or removes a record, and a trigger refuses it.)
SELECT id, delivery_account_id, client_id, offer_id, consent, consent_text, consented_at,
       ip_address, user_agent, page_url, trusted_form_cert, jornaya_lead_id, recorded_at
FROM consent_evidence
WHERE account_id = %(account_id)s AND lead_id = %(lead_id)s
ORDER BY id;
