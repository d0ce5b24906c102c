"""Manual operations on a lead's sends, one transaction each (docs/operations.md).

- `manual_sends`: sending a lead by hand to a chosen delivery account (ProcessClientDelivery,
  ResendLead) and recording a send made elsewhere (LogClientSend).
- `confirmations`: a buyer confirming a sale, and the source settled for it (ConfirmSale).
- `redirects`: storing whether a consumer reached a redirect (RedirectStatusNotify).
- `lookups`: what prepares them (GetClientsForSend/Redirect/Transfer, GetAllCriteriaAccounts).

A manual send is reserved in one transaction, under the lead's lock, its distribution job's
lock and the delivery account's lock (the waterfall's locks, taken in the order an update of
the lead takes them), and delivered by the engine after it commits, as the waterfall's sends
are: a process that dies mid-delivery leaves a lease that runs out, and the worker delivers
the send again. The rules are in server/domain/sales/operations.py and
server/domain/sales/settlement.py.
"""
