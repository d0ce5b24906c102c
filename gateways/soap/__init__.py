"""The service.asmx gateway: LeadExec's SOAP API (SOAP 1.1 and 1.2, and ASMX's HTTP GET and
POST forms) over Spyne, each method one call to leadrouter's gRPC services (docs/soap.md)."""
