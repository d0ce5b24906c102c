"""Wire-format gateways in front of the gRPC services.

The legacy HTTP lead receiver (Starlette) and the service.asmx facade (Spyne) live here. They
translate formats only; every decision is made behind the gRPC services in `server/`.
Neither is built yet: see the project's issues.
"""
