"""The messages, in European Portuguese: short, and nothing clinical beyond what is needed.

An access alert names who and which categories, never what was read; a renewal or an
exemption says the outcome, never the medicines, the reason or the category; a referral
says its date, never the specialty.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from rse_shared.contracts import (
    AccessAlertRaised,
    AppointmentBooked,
    AppointmentCancelled,
    ExemptionDecided,
    MedicationRenewalDecided,
    ReferralStatusChanged,
)

LISBON = ZoneInfo("Europe/Lisbon")

CATEGORY_NAMES = {
    "health_summary": "resumo de saúde",
    "vaccinations": "vacinas",
    "prescriptions": "receitas",
    "care_plan": "plano de cuidados",
    "referrals": "referenciações",
}


@dataclass(frozen=True)
class Message:
    """A notification's subject (e-mail) and text (e-mail body and SMS)."""

    subject: str
    text: str


def _day(value: date) -> str:
    return value.strftime("%d/%m/%Y")


def _moment(value: datetime) -> str:
    return value.astimezone(LISBON).strftime("%d/%m/%Y às %H:%M")


def prescription(number: str, access_code: str, choice_code: str, valid_until: date) -> Message:
    return Message(
        "SNS: receita eletrónica",
        f"SNS: Receita n.º {number}. Código de acesso e dispensa: {access_code}. "
        f"Código de direito de opção: {choice_code}. Válida até {_day(valid_until)}.",
    )


def access_alert(event: AccessAlertRaised) -> Message:
    who = event.practitioner_id + (f" ({event.health_unit})" if event.health_unit else "")
    what = ", ".join(CATEGORY_NAMES.get(c, c) for c in event.categories)
    if event.decision == "emergency":
        head = "SNS: Acesso de emergência ao seu registo de saúde"
    else:
        head = "SNS: O seu registo de saúde foi consultado"
    return Message(
        "SNS: acesso ao seu registo de saúde",
        f"{head} por {who} em {_moment(event.accessed_at)}: {what}. "
        "Veja o histórico de acessos na Área do Cidadão.",
    )


def appointment_booked(event: AppointmentBooked) -> Message:
    return Message(
        "SNS: consulta marcada",
        f"SNS: Consulta marcada para {_moment(event.starts_at)} em {event.health_unit}.",
    )


def appointment_reminder(event: AppointmentBooked) -> Message:
    return Message(
        "SNS: lembrete de consulta",
        f"SNS: Lembrete: tem consulta a {_moment(event.starts_at)} em {event.health_unit}.",
    )


def appointment_cancelled(event: AppointmentCancelled) -> Message:
    by = {"citizen": "a seu pedido", "professional": "pela unidade de saúde"}.get(
        event.cancelled_by, "pelo SNS"
    )
    return Message("SNS: consulta desmarcada", f"SNS: A sua consulta foi desmarcada {by}.")


def renewal_decided(event: MedicationRenewalDecided) -> Message:
    if event.decision == "approved":
        text = (
            "SNS: O seu pedido de renovação da medicação crónica foi aprovado. "
            "Receberá a receita com os respetivos códigos."
        )
    else:
        text = (
            "SNS: O seu pedido de renovação da medicação crónica não foi aprovado. "
            "Contacte o seu médico de família."
        )
    return Message("SNS: pedido de renovação da medicação", text)


def exemption_decided(event: ExemptionDecided) -> Message:
    if event.decision == "granted":
        until = f", válida até {_day(event.valid_until)}" if event.valid_until else ""
        text = f"SNS: Foi-lhe concedida isenção de taxas moderadoras{until}."
    else:
        text = "SNS: O seu pedido de isenção de taxas moderadoras não foi deferido."
    return Message("SNS: isenção de taxas moderadoras", text)


def referral_changed(event: ReferralStatusChanged) -> Message | None:
    """Scheduled or TMRG breached; other changes are not told."""
    if event.status == "scheduled" and event.scheduled_for is not None:
        return Message(
            "SNS: consulta hospitalar agendada",
            f"SNS: A sua primeira consulta hospitalar foi agendada para "
            f"{_day(event.scheduled_for)}. O hospital contactá-lo-á com os pormenores.",
        )
    if event.status == "tmrg_breached":
        return Message(
            "SNS: tempo máximo de resposta ultrapassado",
            "SNS: O tempo máximo de resposta garantido da sua referenciação foi ultrapassado. "
            "Pode pedir informação ao hospital ou à sua unidade de saúde.",
        )
    return None
