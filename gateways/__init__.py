"""Wire-format gateways in front of the gRPC services.

`receiver/`: the legacy HTTP lead receiver (LeadExec's /processor and /information URLs) on
Starlette. `soap/`: LeadExec's service.asmx (Spyne, SOAP 1.1 and 1.2 and the HTTP forms).
Gateways translate formats only; every decision is made behind the gRPC services in
`server/`.
"""
