-- name: claim_jobs
-- Lease due distribution jobs to this process; a job another process holds is skipped, and
-- a lease that ran out (its process died) is taken over.
UPDATE distribution_jobs j SET lease_until = now() + make_interval(secs => %(lease)s)
FROM (
  SELECT account_id, lead_id FROM distribution_jobs
  WHERE state = 'pending' AND run_at <= now() AND (lease_until IS NULL OR lease_until < now())
  ORDER BY run_at
  LIMIT %(limit)s
  FOR UPDATE SKIP LOCKED
) due
WHERE j.account_id = due.account_id AND j.lead_id = due.lead_id
RETURNING j.account_id, j.lead_id;

-- name: claim_job
-- Lease one lead's job for a step when it is due and nobody holds it (the synchronous insert
-- endpoints run it at once; a walker continues its lead after its sends were answered); with
-- what the step needs, as lock_job. No row when it is not due or another process holds it.
UPDATE distribution_jobs j SET lease_until = now() + make_interval(secs => %(lease)s)
FROM leads l
WHERE j.account_id = %(account_id)s AND j.lead_id = %(lead_id)s AND j.state = 'pending'
  AND j.run_at <= now()
  AND (j.lease_until IS NULL OR j.lease_until < now())
  AND l.account_id = j.account_id AND l.id = j.lead_id
RETURNING j.state, j.plan, j.cursor, j.max_sells, j.account_types, l.lead_type_id, l.fields,
          l.call_data, now() AS now,
          coalesce((SELECT v.version FROM buyer_versions v WHERE v.account_id = j.account_id), 0)
            AS buyer_version;

-- name: lock_job
-- A job with its lead, locked for one step of the waterfall; with the database's clock and
-- the account's buyer version (for the engine's cache).
SELECT j.state, j.plan, j.cursor, j.max_sells, j.account_types, l.lead_type_id, l.fields,
       l.call_data, now() AS now,
       coalesce((SELECT v.version FROM buyer_versions v WHERE v.account_id = j.account_id), 0)
         AS buyer_version
FROM distribution_jobs j
JOIN leads l ON l.account_id = j.account_id AND l.id = j.lead_id
WHERE j.account_id = %(account_id)s AND j.lead_id = %(lead_id)s
FOR UPDATE OF j;

-- name: write_step
-- Reserve a step's sends and store the job's plan and position after the step, releasing its
-- lease, with the step's scan log entries (empty ones skipped), in order; in one statement.
-- Sends: each counts against its account's caps (and its order) from now on; one row per
-- delivery account, in the order given (a JSON array of objects: one parameter costs the
-- driver a quarter of what nine arrays did); the rows returned pair ids by account. With
-- `save` false only the sends are reserved (a step reserving some before taking an order).
WITH inserted AS (
  INSERT INTO sends (account_id, lead_id, client_id, delivery_account_id, delivery_id, status,
                     automated, price, next_attempt_at, lease_until, order_id, order_item_id)
  SELECT %(account_id)s, %(lead_id)s, r.client_id, r.delivery_account_id, r.delivery_id,
         r.status, true, r.price, now() + make_interval(secs => r.delay),
         CASE WHEN r.status = {{SendStatus.IN_FLIGHT}} THEN now() + make_interval(secs => r.lease) END,
         r.order_id, r.order_item_id
  FROM ROWS FROM (jsonb_to_recordset(%(sends)s) AS (
         client_id bigint, delivery_account_id bigint, delivery_id bigint, status smallint,
         price numeric, delay int, lease float8, order_id bigint, order_item_id bigint))
       WITH ORDINALITY AS r(client_id, delivery_account_id, delivery_id, status, price, delay,
                            lease, order_id, order_item_id, n)
  ORDER BY r.n
  RETURNING id, delivery_account_id
), logged AS (
  INSERT INTO scan_logs (account_id, lead_id, log)
  SELECT %(account_id)s, %(lead_id)s, e.entry
  FROM unnest(%(logs)s::text[]) WITH ORDINALITY AS e(entry, n)
  WHERE %(save)s AND e.entry <> ''
  ORDER BY e.n
), saved AS (
  UPDATE distribution_jobs
  SET state = %(state)s, plan = %(plan)s, cursor = %(cursor)s, lease_until = NULL,
      updated_at = now()
  WHERE %(save)s AND account_id = %(account_id)s AND lead_id = %(lead_id)s
)
SELECT id, delivery_account_id FROM inserted;

-- name: lock_rotation
-- Serialise decisions of one lead type's rotation (round robin and shares), across processes.
SELECT pg_advisory_xact_lock(hashtextextended('rotation:' || %(account_id)s || ':' ||
                                              %(lead_type_id)s, 0));

-- name: lead_sends
-- This lead's sends that hold or made a sale: scheduled, in flight or sold, oldest first.
SELECT id, client_id, delivery_account_id, status FROM sends
WHERE account_id = %(account_id)s AND lead_id = %(lead_id)s AND status IN ({{SendStatus.SCHEDULED}}, {{SendStatus.IN_FLIGHT}}, {{SendStatus.SOLD}})
ORDER BY id;

-- name: cap_counts
-- Deliveries per account since the start of its buyer's local hour, day and month.
SELECT x.id,
       count(s.id) FILTER (WHERE s.created_at >= x.hour_start) AS hour,
       count(s.id) FILTER (WHERE s.created_at >= x.day_start) AS day,
       count(s.id) AS month
FROM unnest(%(ids)s::bigint[], %(hour_starts)s::timestamptz[], %(day_starts)s::timestamptz[],
            %(month_starts)s::timestamptz[]) AS x(id, hour_start, day_start, month_start)
LEFT JOIN sends s ON s.account_id = %(account_id)s AND s.delivery_account_id = x.id
  AND s.status IN ({{SendStatus.SCHEDULED}}, {{SendStatus.IN_FLIGHT}}, {{SendStatus.SOLD}}) AND s.created_at >= x.month_start
GROUP BY x.id;

-- name: client_states
-- Rotation position and leads served in the last 24 hours, per buyer.
SELECT c.id, c.rr_position,
       (SELECT count(*) FROM sends s
        WHERE s.account_id = c.account_id AND s.client_id = c.id AND s.status IN ({{SendStatus.SCHEDULED}}, {{SendStatus.IN_FLIGHT}}, {{SendStatus.SOLD}})
          AND s.created_at >= now() - interval '24 hours') AS served
FROM clients c
WHERE c.account_id = %(account_id)s AND c.id = ANY(%(ids)s);

-- name: lock_delivery_account
-- One delivery account, locked while a send to it is decided: caps hold across processes.
SELECT id FROM delivery_accounts
WHERE account_id = %(account_id)s AND id = %(id)s
FOR UPDATE;

-- name: lock_client_orders
-- A buyer's orders, locked while a send against one of them is decided: order quantities
-- hold across processes.
SELECT id FROM client_orders
WHERE account_id = %(account_id)s AND client_id = %(client_id)s
ORDER BY id
FOR UPDATE;

-- name: renew_order
-- Move an order to its next period (server/domain/orders.py renewed_period).
UPDATE client_orders
SET period_start = %(period_start)s, period_end = %(period_end)s, renewals = renewals + 1,
    updated_at = now()
WHERE account_id = %(account_id)s AND id = %(id)s;

-- name: advance_rotation
-- The buyer was offered a lead through the rotation: it goes to the back of the line.
UPDATE clients SET rr_position = nextval('rotation_numbers')
WHERE account_id = %(account_id)s AND id = %(id)s;

-- name: insert_scan_log
-- Add an entry to a lead's scan log.
INSERT INTO scan_logs (account_id, lead_id, log) VALUES (%(account_id)s, %(lead_id)s, %(log)s);

-- name: claim_sends
-- Lease due sends: scheduled ones whose time came, and in-flight ones whose process died.
-- The lease outlasts the delivery method's timeout by the lease margin.
UPDATE sends s SET status = {{SendStatus.IN_FLIGHT}},
                   lease_until = now() + make_interval(secs => %(lease)s +
                       coalesce((d.settings ->> 'timeout_seconds')::float8, 10))
FROM (
  SELECT account_id, id FROM sends
  WHERE (status = {{SendStatus.SCHEDULED}} AND next_attempt_at <= now())
     OR (status = {{SendStatus.IN_FLIGHT}} AND lease_until < now())
  ORDER BY next_attempt_at
  LIMIT %(limit)s
  FOR UPDATE SKIP LOCKED
) due, deliveries d
WHERE s.account_id = due.account_id AND s.id = due.id
  AND d.account_id = s.account_id AND d.id = s.delivery_id
RETURNING s.account_id, s.id;

-- name: get_send_for_delivery
-- What executing a send needs: the send, its lead's values and the lead type.
SELECT s.id, s.lead_id, s.client_id, s.delivery_account_id, s.delivery_id, s.price,
       s.attempts, l.lead_type_id, l.fields,
       coalesce((SELECT v.version FROM buyer_versions v WHERE v.account_id = s.account_id), 0)
         AS buyer_version
FROM sends s
JOIN leads l ON l.account_id = s.account_id AND l.id = s.lead_id
WHERE s.account_id = %(account_id)s AND s.id = %(id)s AND s.status = {{SendStatus.IN_FLIGHT}};

-- name: finish_sends
-- Record delivery attempts' outcomes, any number in one statement (nothing for a send already
-- finished). A final outcome (log not empty) also writes its scan log entry and wakes its
-- lead's job for the next step, or, when the lead has now sold its max sell count and nothing
-- else of it is outstanding, marks the job done (that step would find nothing to do). The
-- jobs are locked in key order, so two writers never wait on each other in a cycle. Returns
-- each job touched with its new state.
WITH outcome AS (
  SELECT * FROM jsonb_to_recordset(%(outcomes)s)
    AS o(account_id bigint, id bigint, status smallint, request text, response text,
         reason text, redirect_url text, price numeric, elapsed_ms float8, retry_in float8,
         log text)
), finished AS (
  UPDATE sends s
  SET status = o.status, request = o.request, response = o.response, reason = o.reason,
      redirect_url = o.redirect_url, price = o.price, attempts = s.attempts + 1,
      elapsed_ms = o.elapsed_ms, sent_at = now(), lease_until = NULL,
      next_attempt_at = now() + make_interval(secs => o.retry_in)
  FROM outcome o
  WHERE s.account_id = o.account_id AND s.id = o.id AND s.status = {{SendStatus.IN_FLIGHT}}
  RETURNING s.account_id, s.lead_id, s.id, s.status, o.log
), logged AS (
  INSERT INTO scan_logs (account_id, lead_id, log)
  SELECT account_id, lead_id, log FROM finished WHERE log <> '' ORDER BY id
), woken AS (
  -- sends are read as they stood before this statement: the ones it finishes count apart
  SELECT j.account_id, j.lead_id, greatest(j.max_sells, 1) AS max_sells,
         (SELECT count(*) FROM sends s
          WHERE s.account_id = j.account_id AND s.lead_id = j.lead_id AND s.status = {{SendStatus.SOLD}})
         + (SELECT count(*) FROM finished f
            WHERE f.account_id = j.account_id AND f.lead_id = j.lead_id AND f.status = {{SendStatus.SOLD}})
           AS sold,
         (SELECT count(*) FROM sends s
          WHERE s.account_id = j.account_id AND s.lead_id = j.lead_id AND s.status IN ({{SendStatus.SCHEDULED}}, {{SendStatus.IN_FLIGHT}})
            AND s.id NOT IN (SELECT f.id FROM finished f WHERE f.account_id = s.account_id))
         + (SELECT count(*) FROM finished f
            WHERE f.account_id = j.account_id AND f.lead_id = j.lead_id AND f.status IN ({{SendStatus.SCHEDULED}}, {{SendStatus.IN_FLIGHT}}))
           AS outstanding
  FROM distribution_jobs j
  WHERE (j.account_id, j.lead_id) IN (SELECT account_id, lead_id FROM finished WHERE log <> '')
    AND j.state <> 'done'
  ORDER BY j.account_id, j.lead_id
  FOR UPDATE OF j
)
UPDATE distribution_jobs j
SET state = CASE WHEN w.sold >= w.max_sells AND w.outstanding = 0 THEN 'done' ELSE 'pending' END,
    run_at = now(), updated_at = now()
FROM woken w
WHERE j.account_id = w.account_id AND j.lead_id = w.lead_id
RETURNING j.account_id, j.lead_id, j.state;

-- name: list_sends
-- A lead's sends, oldest first, with their buyers' names and their accounts' type and agent.
SELECT s.id, s.lead_id, s.client_id, c.name AS client_name, s.delivery_account_id,
       s.delivery_id, s.status, s.automated, s.price, s.request, s.response, s.reason,
       s.redirect_url, s.attempts, s.elapsed_ms, s.created_at, s.sent_at,
       da.account_type, da.agent_name, da.agent_phone, s.order_id, s.order_item_id,
       s.notes, s.resend_of, s.confirmed_at, s.source_share, s.redirect_notified_at,
       s.redirect_valid, s.redirect_response, s.returned_at, s.return_reason
FROM sends s
JOIN clients c ON c.account_id = s.account_id AND c.id = s.client_id
JOIN delivery_accounts da ON da.account_id = s.account_id AND da.id = s.delivery_account_id
WHERE s.account_id = %(account_id)s AND s.lead_id = %(lead_id)s
ORDER BY s.id;

-- name: list_scan_logs
-- A lead's scan log entries, oldest first.
SELECT lead_id, scanned_at, log FROM scan_logs
WHERE account_id = %(account_id)s AND lead_id = %(lead_id)s
ORDER BY id;

-- name: get_lead_for_scan
-- A stored lead's values and distribution settings, for a scan without sending.
SELECT l.id, l.lead_type_id, l.fields, l.call_data, c.max_sell, j.account_types,
       coalesce((SELECT v.version FROM buyer_versions v WHERE v.account_id = l.account_id), 0)
         AS buyer_version
FROM leads l
JOIN campaigns c ON c.account_id = l.account_id AND c.id = l.campaign_id
LEFT JOIN distribution_jobs j ON j.account_id = l.account_id AND j.lead_id = l.id
WHERE l.account_id = %(account_id)s AND l.id = %(id)s;

-- name: job_progress
-- Where a lead's distribution stands, for a caller waiting for its sends.
SELECT j.state, j.run_at <= now() AS due, j.lease_until > now() AS leased,
       (SELECT count(*) FROM sends s
        WHERE s.account_id = j.account_id AND s.lead_id = j.lead_id AND s.status = {{SendStatus.IN_FLIGHT}}) AS in_flight
FROM distribution_jobs j
WHERE j.account_id = %(account_id)s AND j.lead_id = %(lead_id)s;
