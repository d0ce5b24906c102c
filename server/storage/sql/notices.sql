-- name: claim_notices
-- Lease due notices: pending ones whose time came, and ones whose sending process died. The
-- lease outlasts the delivery method's timeout by the lease margin.
UPDATE notices n SET state = 'sending',
                     lease_until = now() + make_interval(secs => %(lease)s +
                         coalesce((d.settings ->> 'timeout_seconds')::float8, 10))
FROM (
  SELECT account_id, id FROM notices
  WHERE (state = 'pending' AND next_attempt_at <= now())
     OR (state = 'sending' AND lease_until < now())
  ORDER BY next_attempt_at
  LIMIT %(limit)s
  FOR UPDATE SKIP LOCKED
) due, sends s, deliveries d
WHERE n.account_id = due.account_id AND n.id = due.id
  AND s.account_id = n.account_id AND s.id = n.send_id
  AND d.account_id = s.account_id AND d.id = s.delivery_id
RETURNING n.account_id, n.id;

-- name: get_notice_for_sending
-- A leased notice with the delivery method whose SMTP settings send it.
SELECT n.id, n.lead_id, n.send_id, n.kind, n.sender, n.recipients, n.subject, n.body,
       n.attempts, d.type, d.lead_type_id, d.settings, d.name, d.key, d.enabled
FROM notices n
JOIN sends s ON s.account_id = n.account_id AND s.id = n.send_id
JOIN deliveries d ON d.account_id = s.account_id AND d.id = s.delivery_id
WHERE n.account_id = %(account_id)s AND n.id = %(id)s AND n.state = 'sending';

-- name: finish_notice
-- Record an attempt at a leased notice: sent, failed, or pending again after its backoff;
-- with its lead's scan log entry.
WITH finished AS (
  UPDATE notices
  SET state = %(state)s, attempts = attempts + 1, error = %(error)s, lease_until = NULL,
      sent_at = CASE WHEN %(state)s = 'sent' THEN now() END,
      next_attempt_at = now() + make_interval(secs => %(retry_in)s)
  WHERE account_id = %(account_id)s AND id = %(id)s AND state = 'sending'
  RETURNING account_id, lead_id
)
INSERT INTO scan_logs (account_id, lead_id, log)
SELECT account_id, lead_id, %(log)s FROM finished;
