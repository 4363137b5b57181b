"""Structured JSON logs that never carry personal data or tokens."""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any

_SENSITIVE_KEYS = re.compile(
    r"pass|token|secret|authorization|nif|sns|name|email|phone|address|birth|totp|code",
    re.IGNORECASE,
)
_JWT = re.compile(r"eyJ[\w-]+\.[\w-]+\.[\w-]*")
_BEARER = re.compile(r"(?i)bearer\s+\S+")
_NINE_DIGITS = re.compile(r"(?<!\d)\d{9}(?!\d)")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
_STANDARD = set(vars(logging.makeLogRecord({})))  # attributes every record has


def scrub(text: str) -> str:
    """Mask tokens, 9-digit identifiers (NIF, SNS number) and e-mail addresses."""
    text = _JWT.sub("[token]", text)
    text = _BEARER.sub("Bearer [token]", text)
    text = _EMAIL.sub("[email]", text)
    return _NINE_DIGITS.sub("[id]", text)


class JsonFormatter(logging.Formatter):
    """One JSON object per line; sensitive extra fields are dropped, text is scrubbed."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "service": self.service,
            "logger": record.name,
            "msg": scrub(record.getMessage()),
        }
        for key, value in vars(record).items():
            if key in _STANDARD or key.startswith("_"):
                continue
            doc[key] = "[redacted]" if _SENSITIVE_KEYS.search(key) else scrub(str(value))
        if record.exc_info:
            doc["exc"] = scrub(self.formatException(record.exc_info))
        return json.dumps(doc)


# These libraries log whole documents and statements (names, phones, clinical values) at
# DEBUG and INFO: they speak only when something is wrong.
QUIET_LIBRARIES = ("aiokafka", "pymongo", "psycopg", "eventsourcing", "httpx", "httpcore")


def setup_logging(service: str, level: str = "INFO") -> None:
    """Route all logging (ours, uvicorn's, the libraries') through the JSON formatter."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    for noisy in QUIET_LIBRARIES:
        logging.getLogger(noisy).setLevel("WARNING")
