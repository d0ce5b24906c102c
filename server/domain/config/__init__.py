"""Config as code: `reader` (typed reading with paths), `document` (the whole document) and
`buyers_section` (its clients and distribution_lists sections).
"""
