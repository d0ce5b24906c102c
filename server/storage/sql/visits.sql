-- name: create_tracking
-- A new tracking setting of the account.
INSERT INTO trackings (account_id, name) VALUES (%(account_id)s, %(name)s)
RETURNING id, name, created_at;

-- name: list_trackings
-- The account's tracking settings, by id.
SELECT id, name, created_at FROM trackings WHERE account_id = %(account_id)s ORDER BY id;

-- name: tracking_account
-- The account a tracking setting belongs to (the pixel names only the setting).
SELECT account_id FROM trackings WHERE id = %(tracking_id)s;

-- name: record_visit
-- One page view: a new visit with everything about its first view (a first visit unless an
-- earlier visit had the same visitor id), or the visit's exit page, exit date and page
-- views moved on. Whether the visit is new.
INSERT INTO visits (account_id, visit_id, tracking_id, enter_date, exit_date, user_agent, ip,
                    url, host, enter_page, exit_page, referrer, referrer_host, search_engine,
                    search_term, browser, os, device, visitor_id, first_visit)
SELECT %(account_id)s, %(visit_id)s, %(tracking_id)s, now(), now(), %(user_agent)s, %(ip)s,
       %(url)s, %(host)s, %(page)s, %(page)s, %(referrer)s, %(referrer_host)s,
       %(search_engine)s, %(search_term)s, %(browser)s, %(os)s, %(device)s, %(visitor_id)s,
       %(visitor_id)s = '' OR NOT EXISTS (
           SELECT 1 FROM visits
           WHERE account_id = %(account_id)s AND visitor_id = %(visitor_id)s
             AND visitor_id <> ''
       )
ON CONFLICT (account_id, visit_id) DO UPDATE
SET exit_date = now(), exit_page = EXCLUDED.exit_page, page_views = visits.page_views + 1
RETURNING (xmax = 0) AS created;

-- name: visit
-- One visit of the account.
SELECT * FROM visits WHERE account_id = %(account_id)s AND visit_id = %(visit_id)s;

-- name: lead_visits
-- The visits a lead was posted with that are still kept, oldest first.
SELECT v.* FROM lead_visits l
JOIN visits v ON v.account_id = l.account_id AND v.visit_id = l.visit_id
WHERE l.account_id = %(account_id)s AND l.lead_id = %(lead_id)s
ORDER BY v.enter_date, v.visit_id;

-- name: sweep_visits
-- Up to `batch` visits whose last view is older than `before`, deleted; rows another
-- process is deleting are skipped, not waited for.
DELETE FROM visits WHERE (account_id, visit_id) IN (
    SELECT account_id, visit_id FROM visits WHERE exit_date < %(before)s
    ORDER BY exit_date LIMIT %(batch)s FOR UPDATE SKIP LOCKED
);

-- name: sweep_lead_visits
-- Up to `batch` links of leads to visits made before `before`, deleted (their visits are
-- swept too).
DELETE FROM lead_visits WHERE (account_id, lead_id, visit_id) IN (
    SELECT account_id, lead_id, visit_id FROM lead_visits WHERE linked_at < %(before)s
    ORDER BY linked_at LIMIT %(batch)s FOR UPDATE SKIP LOCKED
);
