"""Delivery: how a lead is sent to a buyer and how the buyer's answer is read.

Pure functions over plain data, no I/O. `spec` holds the types; `validation.validate_delivery`
finds every save-time problem with a buyer's delivery settings; `render.render` turns a lead
into the request a transport sends (an HTTP request, an email or an FTP upload), applying
`formats`; `send_log.describe` gives that request's text for the send log with secrets
masked; and `answers.interpret` reads the buyer's answer.

Values come from mappings: each names the buyer's parameter and takes a lead field (matched
ignoring case) or a constant; when both are set the constant stands in for an empty field.
Templates (JSON, XML or email bodies, email subjects) hold `{{Name}}` placeholders, matched
ignoring case against, in order: the reserved names `lead_id`, `send_id` and `price`, the
mappings' parameters (so formats and constants apply) and the lead's fields. Values are
escaped for the body: XML escaping in XML; in JSON, string escaping inside a string, while a
placeholder outside any string takes a number, true, false or null as is and quotes the rest.
"""
