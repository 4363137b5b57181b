"""The two ways out: e-mail over SMTP, SMS through a provider's HTTP gateway.

A sender returns when the server took the message. It raises `Undeliverable` when
trying again cannot help (the address or number is refused or malformed) and
`DeliveryFailed` when it may (the server is away, busy, or answered a temporary error).
Neither error, nor any log line, carries the message's text.
"""

from __future__ import annotations

import json
import re
import smtplib
import ssl
import string
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Protocol

import httpx

from rse_notifications.domain.messages import Message
from rse_shared.eventstore import in_thread

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PHONE = re.compile(r"^\+[1-9][0-9]{7,14}$")


class DeliveryFailed(Exception):
    """This attempt failed; a later one may succeed."""


class Undeliverable(Exception):
    """The address or number cannot be delivered to: not worth another attempt."""


class Sender(Protocol):
    async def send(self, address: str, message: Message, message_id: str) -> None: ...


@dataclass(frozen=True)
class SmtpSender:
    """E-mail through an SMTP relay, STARTTLS (against `ca_file`, or the system's CAs)."""

    host: str
    port: int
    sender: str
    username: str | None = None
    password: str | None = None
    starttls: bool = True
    ca_file: Path | None = None
    timeout: float = 10.0

    async def send(self, address: str, message: Message, message_id: str) -> None:
        if not EMAIL.match(address):
            raise Undeliverable("invalid e-mail address")
        await in_thread(self._send, address, message, message_id)

    def _send(self, address: str, message: Message, message_id: str) -> None:
        mail = EmailMessage()
        mail["From"], mail["To"], mail["Subject"] = self.sender, address, message.subject
        # The same id for every attempt at one delivery: a relay may drop the copy.
        mail["Message-ID"] = make_msgid(idstring=message_id, domain="notifications.sns.pt")
        mail.set_content(message.text)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context(cafile=self.ca_file))
                if self.username:
                    smtp.login(self.username, self.password or "")
                smtp.send_message(mail)
        except smtplib.SMTPRecipientsRefused as refused:
            code = next(iter(refused.recipients.values()))[0]
            raise _by_code(code, "recipient refused") from None
        except smtplib.SMTPResponseException as error:
            raise _by_code(error.smtp_code, "SMTP server answered") from None
        except (OSError, smtplib.SMTPException) as error:
            raise DeliveryFailed(f"SMTP server unreachable: {type(error).__name__}") from None


def _by_code(code: int, what: str) -> Exception:
    if 500 <= code < 600:
        return Undeliverable(f"{what} {code}")
    return DeliveryFailed(f"{what} {code}")


@dataclass(frozen=True)
class SmsGateway:
    """SMS through an HTTP gateway: POST `template` (JSON, $to and $text filled in) to `url`."""

    url: str
    template: str
    sender_id: str = "SNS"
    username: str | None = None
    password: str | None = None
    timeout: float = 10.0

    async def send(self, address: str, message: Message, message_id: str) -> None:
        if not PHONE.match(address):
            raise Undeliverable("invalid mobile number")
        body = self.payload(address, message.text, message_id)
        auth = (self.username, self.password or "") if self.username else None
        try:
            async with httpx.AsyncClient(timeout=self.timeout, auth=auth) as http:
                response = await http.post(self.url, json=body)
        except httpx.HTTPError as error:
            raise DeliveryFailed(f"SMS gateway unreachable: {type(error).__name__}") from None
        if response.status_code in (408, 429) or response.status_code >= 500:
            raise DeliveryFailed(f"SMS gateway answered {response.status_code}")
        if response.status_code >= 400:
            raise Undeliverable(f"SMS gateway refused the number ({response.status_code})")

    def payload(self, to: str, text: str, message_id: str) -> object:
        """The template with each value put in as a JSON string (no injection)."""
        values = {"to": to, "text": text, "sender": self.sender_id, "reference": message_id}
        filled = string.Template(self.template).substitute(
            {k: json.dumps(v)[1:-1] for k, v in values.items()}
        )
        return json.loads(filled)


@dataclass(frozen=True)
class NoSmsGateway:
    """SMS off: no gateway is configured (a local `make up`). Each SMS is recorded as not
    sent, with that reason, and never retried; e-mail goes as usual."""

    async def send(self, address: str, message: Message, message_id: str) -> None:
        raise Undeliverable("not sent: no SMS gateway configured")
