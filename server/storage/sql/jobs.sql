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
          l.call_data, l.consented_accounts, now() AS now,
          coalesce((SELECT c.lead_category_id FROM campaigns c
                    WHERE c.account_id = l.account_id AND c.id = l.campaign_id), 0)
            AS lead_category_id,
          coalesce((SELECT v.version FROM buyer_versions v WHERE v.account_id = j.account_id), 0)
            AS buyer_version;

-- name: lock_job
-- A job with its lead, locked for one step of the waterfall; with its campaign's lead category
-- (a lead pack's order may ask for one), the database's clock and the account's buyer version
-- (for the engine's cache).
SELECT j.state, j.plan, j.cursor, j.max_sells, j.account_types, l.lead_type_id, l.fields,
       l.call_data, l.consented_accounts, now() AS now,
       coalesce((SELECT c.lead_category_id FROM campaigns c
                 WHERE c.account_id = l.account_id AND c.id = l.campaign_id), 0)
         AS lead_category_id,
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
                     automated, price, next_attempt_at, lease_until, order_id, order_item_id,
                     ping_reference)
  SELECT %(account_id)s, %(lead_id)s, r.client_id, r.delivery_account_id, r.delivery_id,
         r.status, true, r.price, now() + make_interval(secs => r.delay),
         CASE WHEN r.status = {{SendStatus.IN_FLIGHT}} THEN now() + make_interval(secs => r.lease) END,
         r.order_id, r.order_item_id, coalesce(r.ping_reference, '')
  FROM ROWS FROM (jsonb_to_recordset(%(sends)s) AS (
         client_id bigint, delivery_account_id bigint, delivery_id bigint, status smallint,
         price numeric, delay int, lease float8, order_id bigint, order_item_id bigint,
         ping_reference text))
       WITH ORDINALITY AS r(client_id, delivery_account_id, delivery_id, status, price, delay,
                            lease, order_id, order_item_id, ping_reference, n)
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

-- name: job_progress
-- Where a lead's distribution stands, for a caller waiting for its sends.
SELECT j.state, j.run_at <= now() AS due, j.lease_until > now() AS leased,
       (SELECT count(*) FROM sends s
        WHERE s.account_id = j.account_id AND s.lead_id = j.lead_id AND s.status = {{SendStatus.IN_FLIGHT}}) AS in_flight
FROM distribution_jobs j
WHERE j.account_id = %(account_id)s AND j.lead_id = %(lead_id)s;

-- name: restart_distribution
-- Distribute a lead again from the start (UpdateLead with processDelivery): its job, made
-- if it has none, is pending from now with no plan, keeping the account types it sells to.
-- A walker holding the job takes it up on its next step; its earlier sends stay, so buyers
-- that have the lead are skipped and sales already made count against its max sell count.
INSERT INTO distribution_jobs (account_id, lead_id, run_at, max_sells, account_types)
SELECT %(account_id)s, %(lead_id)s, now(), %(max_sells)s, l.account_types
FROM leads l WHERE l.account_id = %(account_id)s AND l.id = %(lead_id)s
ON CONFLICT (account_id, lead_id) DO UPDATE
SET state = 'pending', plan = NULL, cursor = 0, run_at = now(),
    max_sells = excluded.max_sells, updated_at = now();

-- name: lock_lead_job
-- The lead's distribution job, if any, locked so a manual send and a waterfall step for the
-- same lead are decided one after the other.
SELECT state FROM distribution_jobs
WHERE account_id = %(account_id)s AND lead_id = %(lead_id)s
FOR UPDATE;

-- name: wake_lead_job
-- The lead's sales changed by hand: its waterfall, unless done, takes its next step now.
UPDATE distribution_jobs SET state = 'pending', run_at = now(), updated_at = now()
WHERE account_id = %(account_id)s AND lead_id = %(lead_id)s AND state <> 'done';
