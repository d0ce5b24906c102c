"""What becomes of a lead once it is sent: `sends` (send statuses), `orders` (buyers' orders),
`settlement` (confirmed sales), `quality` (QC review and returns) and `operations` (the rules
of manual sends).
"""
