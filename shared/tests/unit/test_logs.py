import json
import logging

from rse_shared.logs import JsonFormatter


def render(message: str, *args: object, **extra: object) -> dict[str, object]:
    record = logging.makeLogRecord(
        {"msg": message, "args": args, "levelname": "INFO", "name": "t", **extra}
    )
    return json.loads(JsonFormatter("test").format(record))  # type: ignore[no-any-return]


def test_tokens_identifiers_and_emails_never_reach_the_log() -> None:
    line = render(
        "login %s with Bearer eyJhbGciOi.eyJzdWIi.c2ln for ana@example.pt nif 123456789", "x"
    )
    text = json.dumps(line)
    assert "eyJ" not in text and "ana@example.pt" not in text and "123456789" not in text


def test_sensitive_extra_fields_are_dropped() -> None:
    line = render("registered", password="hunter2", nif="123456789", topic="identity.events")
    assert line["password"] == "[redacted]" and line["nif"] == "[redacted]"
    assert line["topic"] == "identity.events"
