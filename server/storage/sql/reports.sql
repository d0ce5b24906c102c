-- name: lock_reports
-- Folds and rebuilds of an account's aggregates take turns (until the transaction ends).
SELECT pg_advisory_xact_lock(%(lock)s::int, hashint8(%(account_id)s::bigint));

-- name: fold_report_deltas
-- Move the account's pending deltas into its cells, in key order (two folds never wait on
-- each other in a cycle).
WITH moved AS (
  DELETE FROM report_deltas WHERE account_id = %(account_id)s
  RETURNING *
)
INSERT INTO report_cells AS c (account_id, day, source_id, campaign_id, lead_type_id,
                               client_id, reason, accepted, refused, sold, sends, revenue,
                               source_cost, returns, credits, source_credits)
SELECT account_id, day, source_id, campaign_id, lead_type_id, client_id, reason,
       sum(accepted), sum(refused), sum(sold), sum(sends), sum(revenue), sum(source_cost),
       sum(returns), sum(credits), sum(source_credits)
FROM moved
GROUP BY account_id, day, source_id, campaign_id, lead_type_id, client_id, reason
ORDER BY account_id, day, source_id, campaign_id, lead_type_id, client_id, reason
ON CONFLICT (account_id, day, source_id, campaign_id, lead_type_id, client_id, reason)
DO UPDATE SET accepted = c.accepted + EXCLUDED.accepted,
              refused = c.refused + EXCLUDED.refused,
              sold = c.sold + EXCLUDED.sold,
              sends = c.sends + EXCLUDED.sends,
              revenue = c.revenue + EXCLUDED.revenue,
              source_cost = c.source_cost + EXCLUDED.source_cost,
              returns = c.returns + EXCLUDED.returns,
              credits = c.credits + EXCLUDED.credits,
              source_credits = c.source_credits + EXCLUDED.source_credits;

-- name: replace_report_range
-- Rebuild the account's aggregates of the UTC days from..to (of one campaign, or every one
-- for campaign 0) from the rows themselves, in one statement (one snapshot): drop the range's
-- cells and pending deltas and append the rows' own counts as deltas, for the fold that
-- follows. A write committed after this statement's snapshot keeps its delta, and its row was
-- not read: it counts once either way.
WITH scope AS (
  SELECT (%(from)s::date)::timestamp AT TIME ZONE 'UTC' AS since,
         (%(to)s::date + 1)::timestamp AT TIME ZONE 'UTC' AS until
), campaigns_read AS (
  -- the leads are read campaign by campaign (leads_campaign_time)
  SELECT id FROM campaigns
  WHERE account_id = %(account_id)s
    AND (%(campaign_id)s::bigint = 0 OR id = %(campaign_id)s::bigint)
), gone AS (
  DELETE FROM report_deltas
  WHERE account_id = %(account_id)s AND day BETWEEN %(from)s::date AND %(to)s::date
    AND (%(campaign_id)s::bigint = 0 OR campaign_id = %(campaign_id)s::bigint)
), cleared AS (
  DELETE FROM report_cells
  WHERE account_id = %(account_id)s AND day BETWEEN %(from)s::date AND %(to)s::date
    AND (%(campaign_id)s::bigint = 0 OR campaign_id = %(campaign_id)s::bigint)
), counted AS (
  SELECT r.* FROM scope, leads l, lead_report_row(l) r
  WHERE l.account_id = %(account_id)s AND l.campaign_id IN (SELECT id FROM campaigns_read)
    AND l.received_at >= scope.since AND l.received_at < scope.until
  UNION ALL
  SELECT r.* FROM scope, leads l
  JOIN sends s ON s.account_id = l.account_id AND s.lead_id = l.id
  CROSS JOIN LATERAL send_report_row(s) r
  WHERE l.account_id = %(account_id)s AND l.campaign_id IN (SELECT id FROM campaigns_read)
    AND l.received_at >= scope.since AND l.received_at < scope.until
  UNION ALL
  SELECT r.* FROM scope, posts p, post_report_row(p) r
  WHERE p.account_id = %(account_id)s AND NOT p.is_valid AND p.received_at >= scope.since
    AND p.received_at < scope.until
    AND (%(campaign_id)s::bigint = 0 OR p.campaign_id = %(campaign_id)s::bigint)
)
INSERT INTO report_deltas (account_id, day, source_id, campaign_id, lead_type_id, client_id,
                           reason, accepted, refused, sold, sends, revenue, source_cost,
                           returns, credits, source_credits)
SELECT account_id, day, source_id, campaign_id, lead_type_id, client_id, reason,
       sum(accepted), sum(refused), sum(sold), sum(sends), sum(revenue), sum(source_cost),
       sum(returns), sum(credits), sum(source_credits)
FROM counted
GROUP BY account_id, day, source_id, campaign_id, lead_type_id, client_id, reason;

-- name: lead_report_scope
-- The UTC day and campaign whose aggregates a lead counts in.
SELECT (received_at AT TIME ZONE 'UTC')::date AS day, campaign_id
FROM leads WHERE account_id = %(account_id)s AND id = %(lead_id)s;

-- name: report_cells
-- Every cell of the account in a range of UTC days, in key order (what a rebuild is checked
-- against).
SELECT day, source_id, campaign_id, lead_type_id, client_id, reason, accepted, refused, sold,
       sends, revenue, source_cost, returns, credits, source_credits
FROM report_cells
WHERE account_id = %(account_id)s AND day BETWEEN %(from)s::date AND %(to)s::date
ORDER BY day, source_id, campaign_id, lead_type_id, client_id, reason;

-- name: profit_and_loss
-- The account's profit and loss over a range of UTC days, grouped by the dimensions asked
-- (the others summed over) and filtered by any of source, campaign, buyer and lead type
-- (0: any), with the refusals of each group by reason. Buyer 0 is the leads' own row.
WITH cells AS (
  SELECT CASE WHEN %(by_day)s THEN day END AS day,
         CASE WHEN %(by_source)s THEN source_id END AS source_id,
         CASE WHEN %(by_campaign)s THEN campaign_id END AS campaign_id,
         CASE WHEN %(by_buyer)s THEN client_id END AS client_id,
         CASE WHEN %(by_lead_type)s THEN lead_type_id END AS lead_type_id,
         reason, sum(accepted) AS accepted, sum(refused) AS refused, sum(sold) AS sold,
         sum(sends) AS sends, sum(revenue) AS revenue, sum(source_cost) AS source_cost,
         sum(returns) AS returns, sum(credits) AS credits,
         sum(source_credits) AS source_credits
  FROM report_cells
  WHERE account_id = %(account_id)s AND day BETWEEN %(from)s::date AND %(to)s::date
    AND (%(source_id)s::bigint = 0 OR source_id = %(source_id)s::bigint)
    AND (%(campaign_id)s::bigint = 0 OR campaign_id = %(campaign_id)s::bigint)
    AND (%(client_id)s::bigint = 0 OR client_id = %(client_id)s::bigint)
    AND (%(lead_type_id)s::bigint = 0 OR lead_type_id = %(lead_type_id)s::bigint)
  GROUP BY 1, 2, 3, 4, 5, 6
), grouped AS (
  SELECT day, source_id, campaign_id, client_id, lead_type_id,
         sum(accepted) AS accepted, sum(refused) AS refused, sum(sold) AS sold,
         sum(sends) AS sends, sum(revenue) AS revenue, sum(source_cost) AS source_cost,
         sum(returns) AS returns, sum(credits) AS credits,
         sum(source_credits) AS source_credits,
         coalesce(jsonb_object_agg(reason, refused) FILTER (WHERE refused <> 0), '{}')
           AS refusals
  FROM cells
  GROUP BY 1, 2, 3, 4, 5
)
SELECT g.*, s.name AS source_name, c.name AS campaign_name, b.name AS client_name,
       t.name AS lead_type_name
FROM grouped g
LEFT JOIN sources s ON s.account_id = %(account_id)s AND s.id = g.source_id
LEFT JOIN campaigns c ON c.account_id = %(account_id)s AND c.id = g.campaign_id
LEFT JOIN clients b ON b.account_id = %(account_id)s AND b.id = g.client_id
LEFT JOIN lead_types t ON t.account_id = %(account_id)s AND t.id = g.lead_type_id
ORDER BY g.day, g.source_id, g.campaign_id, g.client_id, g.lead_type_id;

-- name: accounts_with_deltas
-- The accounts that have deltas not yet folded, one index probe each (a skip scan of the
-- primary key).
WITH RECURSIVE a AS (
  (SELECT account_id FROM report_deltas ORDER BY account_id LIMIT 1)
  UNION ALL
  SELECT (SELECT d.account_id FROM report_deltas d WHERE d.account_id > a.account_id
          ORDER BY d.account_id LIMIT 1)
  FROM a WHERE a.account_id IS NOT NULL
)
SELECT account_id FROM a WHERE account_id IS NOT NULL;
