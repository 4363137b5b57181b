"""The senders refuse what cannot be delivered and fill the gateway's template safely."""

import pytest

from rse_notifications.bootstrap import senders
from rse_notifications.config import Settings
from rse_notifications.delivery.dispatcher import Policy
from rse_notifications.delivery.senders import (
    NoSmsGateway,
    SmsGateway,
    SmtpSender,
    Undeliverable,
)
from rse_notifications.domain.messages import Message

MESSAGE = Message("s", 'a "quoted", text')


def test_the_gateway_template_takes_values_as_json_strings() -> None:
    gateway = SmsGateway(url="http://x", template='{"to": "$to", "body": "$text"}')
    assert gateway.payload("+351912345678", MESSAGE.text, "r") == {
        "to": "+351912345678",
        "body": 'a "quoted", text',
    }


async def test_a_malformed_number_or_address_is_undeliverable_without_trying() -> None:
    with pytest.raises(Undeliverable, match="invalid mobile number"):
        await SmsGateway(url="http://127.0.0.1:9", template="{}").send("912", MESSAGE, "r")
    with pytest.raises(Undeliverable, match="invalid e-mail address"):
        await SmtpSender(host="127.0.0.1", port=9, sender="a@b.pt").send("ana", MESSAGE, "r")


def test_retries_back_off_exponentially_up_to_a_limit() -> None:
    policy = Policy()
    delays = [policy.backoff(n).total_seconds() for n in (1, 2, 3, 20)]
    assert delays == [2, 4, 8, 600]


async def test_without_a_gateway_sms_is_off_and_each_one_is_not_sent_for_that_reason() -> None:
    settings = Settings(environment="test", secrets_dir=None, sms_gateway_url=None)
    off = senders(settings)["sms"]
    assert isinstance(off, NoSmsGateway)
    with pytest.raises(Undeliverable, match=r"^not sent: no SMS gateway configured$"):
        await off.send("+351912345678", MESSAGE, "r")
    on = senders(Settings(environment="test", secrets_dir=None, sms_gateway_url="http://gw/sms"))
    assert isinstance(on["sms"], SmsGateway) and isinstance(on["email"], SmtpSender)
