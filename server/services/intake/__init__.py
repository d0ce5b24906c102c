"""Receiving posted leads: the use cases behind the receiver's URLs (LeadService).

- `posting`: PostLeads, the insert URLs' use case: submit, deliver before answering when the
  answer needs the buyers' outcome (returnsends, transfer, redirect), choose the redirect.
- `submit`: SubmitLeads: screen, caps, duplicates, store, and the first distribution step.
- `queueing`: QueueLeads, the /async insert URLs' use case: check, and queue with the post log
  entry; `queue_worker`: the worker that processes queued posts with PostLeads.
- `update`: a source's update of its lead (processDelivery distributes it again).
- `duplicates`: the duplicate check without posting.
- `instructions`: a source's own posting instructions.
- `identify`: who a post is from and for (vid, lid, aid, password, API key), with the
  per-process caches that keep it cheap.
- `post_log`: the post log entry of every posted lead; `requests`: what is posted and
  answered.
"""
