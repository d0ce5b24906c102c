"""The request as text for the send log, with secrets masked (`describe`)."""

from __future__ import annotations

from server.domain.delivery.render import looks_secret
from server.domain.delivery.spec import MASK, EmailRequest, HttpRequest, Rendered


def describe(rendered: Rendered) -> str:
    """The request as text for the send log, with passwords, tokens and secrets masked."""
    if isinstance(rendered, HttpRequest):
        lines = [f"{rendered.method} {rendered.log_url}"]
        lines.extend(f"{name}: {_masked_header(name, value)}" for name, value in rendered.headers)
        text = "\n".join(lines)
        if rendered.log_body:
            text += "\n\n" + rendered.log_body.decode("utf-8", errors="replace")
        return text
    if isinstance(rendered, EmailRequest):
        login = f" as {rendered.smtp_username} (password {MASK})" if rendered.smtp_username else ""
        tls = " with STARTTLS" if rendered.starttls else ""
        lines = [f"SMTP {rendered.smtp_host}:{rendered.smtp_port}{tls}{login}"]
        lines.append(f"Envelope: {rendered.sender} -> {', '.join(rendered.recipients)}")
        lines.extend(
            f"{name}: {rendered.log_subject if name.casefold() == 'subject' else value}"
            for name, value in rendered.message.items()
        )
        return "\n".join(lines) + "\n\n" + rendered.log_body
    where = f"{rendered.directory}/" if rendered.directory else ""
    head = (
        f"FTP STOR ftp://{rendered.username}@{rendered.host}:{rendered.port}/"
        f"{where}{rendered.filename} (password {MASK})"
    )
    return head + "\n\n" + rendered.log_content.decode("utf-8", errors="replace")


def _masked_header(name: str, value: str) -> str:
    if not looks_secret(name):
        return value
    scheme, space, _ = value.partition(" ")
    if space and name.casefold() == "authorization":
        return f"{scheme} {MASK}"
    return MASK
