"""Wire-format gateways in front of the gRPC services.

`receiver/`: the legacy HTTP lead receiver (LeadExec's /processor and /information URLs) on
Starlette. The service.asmx facade (Spyne) will sit beside it. Gateways translate formats
only; every decision is made behind the gRPC services in `server/`.
"""
