"""The legacy HTTP lead receiver's wire layer: LeadExec's request and response formats.

`forms` reads a posted body (URL-encoded, XML or JSON) into a `Submission` and from it a
`SubmitLeadsRequest`; `responses` renders the lead service's answers in LeadExec's JSON and XML
shapes. Both are pure functions over bytes, strings and protobuf messages: the HTTP app calls
them, and every decision about a post is made by the lead service behind gRPC.
"""
