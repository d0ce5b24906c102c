-- name: upsert_offer
-- Set a delivery account's static offer; a row only when something differed (its id is kept).
INSERT INTO delivery_account_offers (account_id, delivery_account_id, company_name,
                                     company_phone, name, description, url, image_url,
                                     privacy_url, terms_url, duration, amount, tcpa_consent_text)
VALUES (%(account_id)s, %(delivery_account_id)s, %(company_name)s, %(company_phone)s, %(name)s,
        %(description)s, %(url)s, %(image_url)s, %(privacy_url)s, %(terms_url)s, %(duration)s,
        %(amount)s, %(tcpa_consent_text)s)
ON CONFLICT (account_id, delivery_account_id) DO UPDATE SET
    company_name = EXCLUDED.company_name, company_phone = EXCLUDED.company_phone,
    name = EXCLUDED.name, description = EXCLUDED.description, url = EXCLUDED.url,
    image_url = EXCLUDED.image_url, privacy_url = EXCLUDED.privacy_url,
    terms_url = EXCLUDED.terms_url, duration = EXCLUDED.duration, amount = EXCLUDED.amount,
    tcpa_consent_text = EXCLUDED.tcpa_consent_text, updated_at = now()
WHERE (delivery_account_offers.company_name, delivery_account_offers.company_phone,
       delivery_account_offers.name, delivery_account_offers.description,
       delivery_account_offers.url, delivery_account_offers.image_url,
       delivery_account_offers.privacy_url, delivery_account_offers.terms_url,
       delivery_account_offers.duration, delivery_account_offers.amount,
       delivery_account_offers.tcpa_consent_text)
      IS DISTINCT FROM
      (EXCLUDED.company_name, EXCLUDED.company_phone, EXCLUDED.name, EXCLUDED.description,
       EXCLUDED.url, EXCLUDED.image_url, EXCLUDED.privacy_url, EXCLUDED.terms_url,
       EXCLUDED.duration, EXCLUDED.amount, EXCLUDED.tcpa_consent_text)
RETURNING id;

-- name: delete_offer
-- Remove a delivery account's static offer; a row only when there was one.
DELETE FROM delivery_account_offers
WHERE account_id = %(account_id)s AND delivery_account_id = %(delivery_account_id)s
RETURNING id;

-- name: offers_of_accounts
-- The static offers of these delivery accounts of the account, with their buyers' names.
SELECT o.id, o.delivery_account_id, a.client_id, c.name AS client_name, o.company_name,
       o.company_phone, o.name, o.description, o.url, o.image_url, o.privacy_url, o.terms_url,
       o.duration, o.amount, o.tcpa_consent_text
FROM delivery_account_offers o
JOIN delivery_accounts a ON a.account_id = o.account_id AND a.id = o.delivery_account_id
JOIN clients c ON c.account_id = a.account_id AND c.id = a.client_id
WHERE o.account_id = %(account_id)s AND o.delivery_account_id = ANY(%(ids)s::bigint[])
ORDER BY o.id;

-- name: offers_of_lead_type
-- The static offers of the account's delivery accounts that deliver a lead type's leads,
-- with their buyers' names, oldest offer first.
SELECT o.id, o.delivery_account_id, a.client_id, c.name AS client_name, o.company_name,
       o.company_phone, o.name, o.description, o.url, o.image_url, o.privacy_url, o.terms_url,
       o.duration, o.amount, o.tcpa_consent_text
FROM delivery_account_offers o
JOIN delivery_accounts a ON a.account_id = o.account_id AND a.id = o.delivery_account_id
JOIN deliveries d ON d.account_id = a.account_id AND d.id = a.delivery_id
JOIN clients c ON c.account_id = a.account_id AND c.id = a.client_id
WHERE o.account_id = %(account_id)s AND d.lead_type_id = %(lead_type_id)s
ORDER BY o.id;
