"""The catalog: what leads look like and where they come from.

`fields` (lead fields and the cleaning of posted values), `rules` (campaign rules), `specs`
(lead types, lead sources, campaigns and their pricing), `records` (fields, sources and
campaigns as stored, with their ids) and `instructions` (what a source needs to post to a
campaign).
"""
