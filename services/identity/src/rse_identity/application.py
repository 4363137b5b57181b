"""Identity's use cases: thin command methods over the aggregates."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from rse_identity.domain.account import Account, LoginPolicy, LoginRefused, TotpNotStarted
from rse_identity.domain.activation import ActivationPolicy
from rse_identity.domain.citizen import Citizen, DeregistrationReason
from rse_identity.domain.personal_data_read import PersonalDataRead, PrivilegedRole
from rse_identity.proxy_commands import ProxyCommands
from rse_identity.registration import CitizenAlreadyRegistered as CitizenAlreadyRegistered
from rse_identity.registration import RegistrationCommands
from rse_shared.auth import Role
from rse_shared.clock import Clock, utcnow


class UsernameTaken(Exception):
    """A staff username already in use."""


class CitizenNotFound(Exception):
    """No citizen with that id."""


class AccountNotFound(Exception):
    """No account with that username."""


class CitizenNotVisible(LookupError):
    """Not (yet) in the citizen directory."""


class IdentityApplication(RegistrationCommands, ProxyCommands):
    """Citizens, staff accounts, authentication, and who acts for whom."""

    name = "identity"

    def __init__(
        self,
        env: dict[str, str] | None = None,
        *,
        hasher: PasswordHasher | None = None,
        login_policy: LoginPolicy | None = None,
        clock: Clock = utcnow,
        activation_policy: ActivationPolicy | None = None,
    ) -> None:
        super().__init__(env)
        self.hasher = hasher or PasswordHasher()
        self.login_policy = login_policy or LoginPolicy()
        self.clock = clock
        self.activation_policy = activation_policy or ActivationPolicy()

    def update_contacts(
        self,
        citizen_id: uuid.UUID,
        *,
        email: str | None = None,
        phone: str | None = None,
        address: str | None = None,
    ) -> None:
        citizen = self._citizen(citizen_id)
        citizen.update_contacts(email, phone, address)
        self.save(citizen)

    def assign_family_doctor(
        self, citizen_id: uuid.UUID, practitioner_id: str, health_unit: str
    ) -> None:
        citizen = self._citizen(citizen_id)
        citizen.assign_family_doctor(practitioner_id, health_unit)
        self.save(citizen)

    def deregister(
        self, citizen_id: uuid.UUID, reason: DeregistrationReason, effective_date: date
    ) -> None:
        citizen = self._citizen(citizen_id)
        citizen.deregister(reason, effective_date)
        try:
            account: Account | None = self._account(citizen.sns_number)
        except AccountNotFound:
            account = None  # registered but never activated: no account to close
        if account is not None:
            account.close()
        self.save(citizen, account, *self.relationships_ended_with(citizen_id))

    def record_personal_data_read(
        self, citizen_id: uuid.UUID, actor_id: str, role: PrivilegedRole, purpose: str
    ) -> uuid.UUID:
        """Save an operator's read of the citizen's data; the relay tells consent of it."""
        read = PersonalDataRead(
            citizen_id=citizen_id,
            actor_id=actor_id,
            role=role,
            purpose=purpose,
            read_at=self.clock(),
        )
        self.save(read)
        return read.id

    def provision_staff(
        self,
        *,
        username: str,
        password: str,
        role: Role,
        practitioner_id: str | None = None,
        health_unit: str | None = None,
        hospital: str | None = None,
    ) -> uuid.UUID:
        named = {
            "practitioner_id": practitioner_id,
            "health_unit": health_unit,
            "hospital": hospital,
        }
        claims = {k: v for k, v in named.items() if v}
        account = Account(
            username=staff_username(username),
            password_hash=self.hasher.hash(password),
            role=role,
            claims=claims,
        )
        try:
            self.save(account)
        except IntegrityError:
            raise UsernameTaken(f"username {username!r} is taken") from None
        return account.id

    def authenticate(self, username: str, password: str, totp_code: str | None = None) -> Account:
        """The account, if the password (and second factor, once enrolled) are right."""
        try:
            account = self._account(username)
        except AccountNotFound:
            self._burn_time(password)
            raise LoginRefused("invalid credentials") from None
        now = self.clock()
        account.check_may_attempt(now, self.login_policy)
        if self._credentials_valid(account, password, totp_code):
            account.login_succeeded()
        else:
            account.login_failed(now, self.login_policy)
        self.save(account)
        if account.failures or account.locked_until:
            raise LoginRefused("invalid credentials")
        return account

    def start_totp_enrolment(self, account_id: uuid.UUID) -> str:
        """A new TOTP secret for the account, active once confirmed with a code."""
        account = self._account_by_id(account_id)
        secret = pyotp.random_base32()
        account.start_totp_enrolment(secret)
        self.save(account)
        return pyotp.TOTP(secret).provisioning_uri(name=account.username, issuer_name="RSE")

    def confirm_totp(self, account_id: uuid.UUID, code: str) -> None:
        account = self._account_by_id(account_id)
        if account.totp_pending is None:
            raise TotpNotStarted("no TOTP enrolment in progress")
        if not pyotp.TOTP(account.totp_pending).verify(code, valid_window=1):
            raise LoginRefused("invalid TOTP code")
        account.confirm_totp()
        self.save(account)

    def _credentials_valid(self, account: Account, password: str, totp_code: str | None) -> bool:
        try:
            self.hasher.verify(account.password_hash, password)
        except (VerificationError, InvalidHashError):
            return False
        if account.totp_secret is None:
            return True
        return bool(totp_code) and pyotp.TOTP(account.totp_secret).verify(
            str(totp_code), valid_window=1
        )

    def _burn_time(self, password: str) -> None:
        # Hash anyway, so an unknown username takes as long as a wrong password.
        self.hasher.hash(password)

    def _citizen(self, citizen_id: uuid.UUID) -> Citizen:
        try:
            citizen: object = self.repository.get(citizen_id)
        except AggregateNotFoundError:
            citizen = None
        if not isinstance(citizen, Citizen):  # an account's or a NIF claim's id is no citizen
            raise CitizenNotFound(f"citizen {citizen_id} not found")
        return citizen

    def _account(self, username: str) -> Account:
        return self._account_by_id(Account.create_id(username))

    def _account_by_id(self, account_id: uuid.UUID) -> Account:
        try:
            account: object = self.repository.get(account_id)
        except AggregateNotFoundError:
            account = None
        if not isinstance(account, Account):
            raise AccountNotFound("no such account")
        return account


def staff_username(username: str) -> str:
    """Staff accounts live in their own namespace, apart from SNS numbers."""
    return f"staff:{username}"


def token_claims(account: Account) -> dict[str, Any]:
    """The claims of a token issued after a login: once TOTP is enrolled, login proved it."""
    amr = ["pwd", "otp"] if account.totp_secret is not None else ["pwd"]
    return {"sub": str(account.id), "role": account.role, **account.claims, "amr": amr}
