-- name: lock_campaign_for_post
-- A capped campaign a post is for, locked until the post's transaction ends: posts to it take
-- their turn, so its caps hold exactly under concurrency, across processes.
SELECT id, status FROM campaigns
WHERE account_id = %(account_id)s AND id = %(id)s
FOR UPDATE;

-- name: campaign_status_for_post
-- The status of an uncapped campaign a post is for, read in the post's transaction: with no
-- cap to count, posts to it need not take turns.
SELECT id, status FROM campaigns WHERE account_id = %(account_id)s AND id = %(id)s;

-- name: lock_duplicate_key
-- Serialise posts carrying the same duplicate key of a lead type, whatever their campaign.
SELECT pg_advisory_xact_lock(hashtextextended(%(lock)s, 0));

-- name: count_campaign_leads
-- Leads accepted on a campaign since the starts of its cap windows (domain/caps.py: the
-- account's local hour, day and month); returned ones only when the campaign counts them.
SELECT count(*) FILTER (WHERE received_at >= %(hour_start)s) AS hour,
       count(*) FILTER (WHERE received_at >= %(day_start)s) AS day,
       count(*) AS month
FROM leads
WHERE account_id = %(account_id)s AND campaign_id = %(campaign_id)s
  AND received_at >= %(month_start)s
  AND (%(count_returns)s OR returned_at IS NULL);

-- name: find_duplicate
-- The most recent lead of the lead type with this duplicate key inside the window.
SELECT id, source_id, received_at FROM leads
WHERE account_id = %(account_id)s AND lead_type_id = %(lead_type_id)s
  AND duplicate_key = %(duplicate_key)s
  AND received_at >= now() - make_interval(days => %(days)s)
ORDER BY received_at DESC LIMIT 1;

-- name: insert_lead
-- Store an accepted lead and, in the same statement, its distribution job (the outbox) and
-- its post log entry. The job is due after the source's send delay, limited to the account
-- types its endpoint sells to (NULL = every type); none for a noSell lead or one held for QC
-- review. The post's steps end with the store step, which names the new lead. A 1-to-1
-- lead's consent evidence is written by the same statement, so a first step rolled back to
-- its savepoint cannot take it along, nor the link to the site visit it was posted with. With
-- the database's clock and the account's buyer version, for the job's first step.
WITH lead AS (
  INSERT INTO leads (account_id, post_id, source_id, campaign_id, lead_type_id, reference,
                     no_sell, send_delay_hours, fields, extras, duplicate_key, pricing_model,
                     price, pending_qc, call_data, account_types, contact_keys, tags,
                     consented_accounts)
  VALUES (%(account_id)s, %(post_id)s, %(source_id)s, %(campaign_id)s, %(lead_type_id)s,
          %(reference)s, %(no_sell)s, %(send_delay_hours)s, %(fields)s, %(extras)s,
          %(duplicate_key)s, %(pricing_model)s, %(price)s, %(pending_qc)s, %(call_data)s,
          %(account_types)s::smallint[], %(contact_keys)s::text[], %(tags)s::text[],
          %(consented_accounts)s::bigint[])
  RETURNING account_id, id, received_at, send_delay_hours, no_sell, pending_qc, account_types
), consent AS (
  INSERT INTO consent_evidence (account_id, lead_id, delivery_account_id, client_id, offer_id,
                                consent, consent_text, consented_at, ip_address, user_agent,
                                page_url, trusted_form_cert, jornaya_lead_id)
  SELECT lead.account_id, lead.id, r.delivery_account_id, r.client_id, r.offer_id, r.consent,
         r.consent_text, r.consented_at, r.ip_address, r.user_agent, r.page_url,
         r.trusted_form_cert, r.jornaya_lead_id
  FROM lead, jsonb_to_recordset(%(consent)s::jsonb) AS r(
    delivery_account_id bigint, client_id bigint, offer_id bigint, consent boolean,
    consent_text text, consented_at timestamptz, ip_address text, user_agent text,
    page_url text, trusted_form_cert text, jornaya_lead_id text)
), job AS (
  INSERT INTO distribution_jobs (account_id, lead_id, run_at, max_sells, account_types)
  SELECT account_id, id, received_at + send_delay_hours * interval '1 hour', %(max_sells)s,
         account_types
  FROM lead WHERE NOT no_sell AND NOT pending_qc
  RETURNING lead_id
), visit AS (
  INSERT INTO lead_visits (account_id, lead_id, visit_id)
  SELECT account_id, id, %(visit_id)s FROM lead WHERE %(visit_id)s <> ''
), post AS (
  INSERT INTO posts (account_id, id, source_id, campaign_id, lead_type_id, remote_ip,
                     request_format, request_body, request_truncated, lead_index,
                     request_post_id, is_valid, response_type, response_details, lead_id, price,
                     steps)
  SELECT account_id, %(post_id)s, %(source_id)s, %(campaign_id)s, %(lead_type_id)s,
         %(remote_ip)s, %(request_format)s, %(request_body)s, %(request_truncated)s,
         %(lead_index)s, %(request_post_id)s, %(is_valid)s, %(response_type)s,
         %(response_details)s, id, %(price)s,
         %(steps)s || jsonb_build_array(jsonb_build_object(
           'name', 'store', 'outcome', 'passed', 'detail', 'lead ' || id, 'micros', 0))
  FROM lead
)
SELECT id, (SELECT count(*) FROM job) > 0 AS queued, now() AS now,
       coalesce((SELECT v.version FROM buyer_versions v WHERE v.account_id = lead.account_id), 0)
         AS buyer_version
FROM lead;

-- name: savepoint_first_step
-- Where the lead's first distribution step starts in its acceptance transaction: a step
-- that fails (a deadlock with another walker) is undone back to here, the lead kept.
SAVEPOINT first_step;

-- name: rollback_first_step
ROLLBACK TO SAVEPOINT first_step;

-- name: insert_post
-- Log one posted lead, accepted or not.
INSERT INTO posts (account_id, id, source_id, campaign_id, lead_type_id, remote_ip,
                   request_format, request_body, request_truncated, lead_index, request_post_id,
                   is_valid, response_type, response_details, lead_id, price, steps, ping)
VALUES (%(account_id)s, %(id)s, %(source_id)s, %(campaign_id)s, %(lead_type_id)s,
        %(remote_ip)s, %(request_format)s, %(request_body)s, %(request_truncated)s,
        %(lead_index)s, %(request_post_id)s, %(is_valid)s, %(response_type)s,
        %(response_details)s, %(lead_id)s, %(price)s, %(steps)s, %(ping)s);

-- name: sweep_unattributed_posts
-- Up to `batch` posts naming no lead source (the reserved account 0), oldest first, that are
-- older than `before` or not among the newest `kept`; rows another process is deleting are
-- skipped, not waited for. Such posts are never queued, so nothing references them.
DELETE FROM posts WHERE account_id = 0 AND id IN (
    SELECT id FROM posts
    WHERE account_id = 0
      AND (received_at < %(before)s
           OR received_at <= (SELECT received_at FROM posts WHERE account_id = 0
                              ORDER BY received_at DESC OFFSET %(kept)s LIMIT 1))
    ORDER BY received_at LIMIT %(batch)s FOR UPDATE SKIP LOCKED
);

-- name: get_post_status
-- A post and the state of its lead, by PostID; for a queued post (an /async URL's), where it
-- stands and its answer once processed (and its callback, read apart).
SELECT p.account_id, p.id, p.received_at, p.is_valid, p.response_details, p.campaign_id, p.lead_id, p.price,
       l.pending_qc, l.qc_reviewed_at, l.qc_rejected, l.qc_reason, l.returned_at,
       l.return_reason,
       qp.state AS queue_state, qp.response_format, qp.processed_at, qp.answer_type, qp.answer
FROM posts p
LEFT JOIN leads l ON l.account_id = p.account_id AND l.id = p.lead_id
LEFT JOIN queued_posts qp ON qp.account_id = p.account_id AND qp.post_id = p.id
WHERE p.id = %(id)s;

-- name: find_source_lead
-- A lead the source posted, with its campaign and whether it may be sold, locked for an update.
-- NO KEY UPDATE: the distribution engine's sends and scan log entries (which reference the
-- lead) are not blocked, so an update restarting distribution cannot deadlock with a walker
-- that holds the lead's job.
SELECT id, campaign_id, lead_type_id, fields, extras, price, no_sell, pending_qc,
       qc_reviewed_at IS NOT NULL AS qc_reviewed, qc_rejected
FROM leads
WHERE account_id = %(account_id)s AND id = %(id)s AND source_id = %(source_id)s
FOR NO KEY UPDATE;

-- name: update_lead_fields
-- Replace a lead's values after an update from its source.
UPDATE leads SET fields = %(fields)s, extras = %(extras)s, duplicate_key = %(duplicate_key)s,
                 contact_keys = %(contact_keys)s::text[]
WHERE account_id = %(account_id)s AND id = %(id)s;

-- name: search_leads
-- A lead type's leads having every one of these contact keys (leads_contact_keys), newest
-- first, with what their post was answered. Each found lead's post is looked up by its key
-- (LIMIT 1 keeps the lateral a lookup): as a join, the planner's guess that a key matches
-- 0.5% of the leads made it hash every post of the account.
SELECT l.id, l.post_id, l.source_id, l.campaign_id, l.lead_type_id, l.reference,
       l.received_at, l.no_sell, l.price, l.tags, l.pending_qc,
       p.is_valid, p.response_type, p.response_details
FROM leads l
LEFT JOIN LATERAL (
    SELECT is_valid, response_type, response_details FROM posts
    WHERE account_id = l.account_id AND id = l.post_id
    LIMIT 1
) p ON true
WHERE l.account_id = %(account_id)s AND l.lead_type_id = %(lead_type_id)s
  AND l.contact_keys @> %(keys)s::text[]
ORDER BY l.received_at DESC, l.id DESC
LIMIT %(limit)s;

-- name: find_leads_by_reference
-- The account's leads posted with a reference, newest first.
SELECT id, post_id, source_id, campaign_id, lead_type_id, reference, received_at, no_sell, price,
       tags
FROM leads
WHERE account_id = %(account_id)s AND reference = %(reference)s AND reference <> ''
ORDER BY received_at DESC, id DESC
LIMIT %(limit)s;

-- name: get_lead_for_scan
-- A stored lead's values and distribution settings, for a scan without sending.
SELECT l.id, l.lead_type_id, l.fields, l.call_data, c.max_sell, j.account_types,
       coalesce(c.lead_category_id, 0) AS lead_category_id,
       coalesce((SELECT v.version FROM buyer_versions v WHERE v.account_id = l.account_id), 0)
         AS buyer_version
FROM leads l
JOIN campaigns c ON c.account_id = l.account_id AND c.id = l.campaign_id
LEFT JOIN distribution_jobs j ON j.account_id = l.account_id AND j.lead_id = l.id
WHERE l.account_id = %(account_id)s AND l.id = %(id)s;

-- name: lock_lead_for_operation
-- A lead with its campaign's pricing, locked while a manual operation changes its sends or
-- its price (NO KEY UPDATE: the engine's sends and scan log entries are not blocked), and
-- the transaction's clock.
SELECT l.id, l.lead_type_id, l.pricing_model, l.price, l.pending_qc, l.qc_rejected,
       l.consented_accounts, c.pricing_model AS campaign_model, c.pricing_amount, now() AS now
FROM leads l
JOIN campaigns c ON c.account_id = l.account_id AND c.id = l.campaign_id
WHERE l.account_id = %(account_id)s AND l.id = %(id)s
FOR NO KEY UPDATE OF l;

-- name: lead_exists
-- Whether the account has this lead.
SELECT id FROM leads WHERE account_id = %(account_id)s AND id = %(id)s;

-- name: settle_lead
-- Add a confirmed sale's settlement to the price the account owes the lead's source, and show
-- it as the Price of the lead's post (the status URL).
WITH lead AS (
  UPDATE leads SET price = price + %(amount)s
  WHERE account_id = %(account_id)s AND id = %(lead_id)s
  RETURNING account_id, id, price
), post AS (
  UPDATE posts p SET price = lead.price
  FROM lead
  WHERE p.account_id = lead.account_id AND p.lead_id = lead.id
)
SELECT price FROM lead;
