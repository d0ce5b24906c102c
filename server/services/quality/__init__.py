"""Quality control and returns, one transaction each: `review` (the QC bin: approving and
rejecting held leads) and `returns` (buyers returning sales).

A campaign with the QC bin stores its leads with `pending_qc` and no distribution job
(`insert_lead`). Approving writes the job then, in the same statement that takes the lead out
of the bin, and wakes the local distribution worker; rejecting keeps the lead out for good.
A buyer's return marks its sale returned; once no sale of the lead stands, the lead is
returned too, and its source credited when the campaign counts returns. The rules are in
server/domain/sales/quality.py; the choices in docs/quality.md.
"""
