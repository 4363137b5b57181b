"""Identity's use cases: thin command methods over the aggregates."""

from __future__ import annotations

import contextlib
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pyotp
from argon2 import PasswordHasher
from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from rse_identity.authentication import dummy_hash, password_matches, totp_step
from rse_identity.domain.account import Account, LoginRefused, TotpEnrolled, TotpNotStarted
from rse_identity.domain.activation import ActivationPolicy
from rse_identity.domain.citizen import Citizen, DeregistrationReason
from rse_identity.domain.personal_data_read import PersonalDataRead, PrivilegedRole
from rse_identity.domain.practitioner_claim import PractitionerClaim
from rse_identity.domain.token_revocation import RevocationReason, TokenRevocation
from rse_identity.login_guard import FailureCounter, LoginPolicy, MemoryFailures
from rse_identity.proxy_commands import ProxyCommands
from rse_identity.registration import CitizenAlreadyRegistered as CitizenAlreadyRegistered
from rse_identity.registration import RegistrationCommands
from rse_identity.retention import RETENTION_REFERENCE, SYSTEM, RetentionPolicy
from rse_shared.auth import Role
from rse_shared.clock import Clock, utcnow
from rse_shared.erasure import CitizenErasure
from rse_shared.keyring import CitizenErased


class UsernameTaken(Exception):
    """A staff username already in use."""


class PractitionerTaken(Exception):
    """A practitioner id that already has a staff account."""


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
        failures: FailureCounter | None = None,
        token_ttl: timedelta = timedelta(minutes=5),
        clock: Clock = utcnow,
        activation_policy: ActivationPolicy | None = None,
        retention: RetentionPolicy | None = None,
    ) -> None:
        super().__init__(env)
        self.retention = retention or RetentionPolicy()
        self.hasher = hasher or PasswordHasher()
        self.failures = failures or MemoryFailures(login_policy or LoginPolicy())
        self.clock = clock
        self.activation_policy = activation_policy or ActivationPolicy()
        self.token_ttl = token_ttl  # how long a token issued before a deactivation may live
        self._dummy_hash = dummy_hash(self.hasher)

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

    def erase(
        self, citizen_id: uuid.UUID, legal_basis: str, reference: str, erased_by: str
    ) -> None:
        """Erase the citizen: the account closed, the erasure recorded (under the store key,
        for the relay to tell every service), then the data key destroyed for everyone.
        Run again, it only destroys the key again (a failure after the save is retried)."""
        if not self._was_erased(citizen_id):
            citizen = self._citizen(citizen_id)
            try:
                account: Account | None = self._account(citizen.sns_number)
            except AccountNotFound:
                account = None
            if account is not None and not account.closed:
                account.close()
            erasure = CitizenErasure(citizen_id, legal_basis, self.clock(), reference, erased_by)
            # The numbers are released: the person they belong to may register again.
            sns = self._release("sns", citizen.sns_number)
            nif = self._release("nif", citizen.nif)
            self.save(erasure, account, sns, nif)
        if self.keyring is not None:
            self.keyring.erase(citizen_id, erased_by=erased_by, legal_basis=legal_basis)

    def _was_erased(self, citizen_id: uuid.UUID) -> bool:
        try:
            self.repository.get(CitizenErasure.create_id(citizen_id))
        except AggregateNotFoundError:
            return False
        return True

    def erase_if_retention_ended(self, citizen_id: uuid.UUID) -> bool:
        """Erase the citizen if `retention` says their time is over (checked here, on the
        aggregate: the directory the sweep read may lag)."""
        if self._was_erased(citizen_id):
            return False
        try:
            citizen = self._citizen(citizen_id)
        except (CitizenNotFound, CitizenErased):
            return False
        now = self.clock()
        deregistered = citizen.deregistration_date
        if deregistered is not None:
            due = deregistered < self.retention.deregistered_before(now.date())
        else:
            due = citizen.activated is None and citizen.created_on < (
                self.retention.registered_before(now)
            )
        if due:
            self.erase(citizen_id, "retention", RETENTION_REFERENCE, SYSTEM)
        return due

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
        # One account per practitioner: the claim's id is the practitioner id's, so a
        # second account conflicts on write, as a taken username does.
        claim = [PractitionerClaim(practitioner_id, account.id)] if practitioner_id else []
        try:
            self.save(account, *claim)
        except IntegrityError:
            if self._exists(account.id):
                raise UsernameTaken(f"username {username!r} is taken") from None
            raise PractitionerTaken(f"practitioner {practitioner_id!r} has an account") from None
        return account.id

    def authenticate(self, username: str, password: str, totp_code: str | None = None) -> Account:
        """The account, if the password (and second factor, once enrolled) are right.

        Every attempt is counted as a failure before the password is checked (the login
        guard refuses it if the account must wait); only a success clears the count.
        """
        self.failures.reserve(username, self.clock())
        account = self._known_account(username)
        if account is None:
            password_matches(self.hasher, self._dummy_hash, password)  # the same time
            raise LoginRefused("invalid credentials")
        self._check_credentials(account, password, totp_code)
        account.check_may_log_in()
        self.failures.clear(username)
        return account

    def reauthenticate(self, account_id: uuid.UUID, password: str, code: str | None) -> Account:
        """The account, if its owner proves it again (before sensitive changes)."""
        account = self._account_by_id(account_id)
        self.failures.reserve(account.username, self.clock())
        self._check_credentials(account, password, code)
        self.failures.clear(account.username)
        return account

    def _check_credentials(self, account: Account, password: str, code: str | None) -> None:
        """Password, then (once enrolled) a TOTP code of a step not used before."""
        if not password_matches(self.hasher, account.password_hash, password):
            raise LoginRefused("invalid credentials")
        if account.totp_secret is None:
            return
        step = totp_step(account.totp_secret, code, account.totp_last_step)
        if step is None:
            raise LoginRefused("invalid credentials")
        account.use_totp_step(step)
        try:
            self.save(account)  # a parallel login with the same code conflicts here
        except IntegrityError:
            raise LoginRefused("invalid credentials") from None

    def start_totp_enrolment(
        self, account_id: uuid.UUID, password: str | None = None, code: str | None = None
    ) -> str:
        """A new TOTP secret for the account, active once confirmed with a code.

        Replacing an enrolled factor needs the current password and a current code.
        """
        account = self._account_by_id(account_id)
        if account.totp_secret is not None:
            if password is None:
                raise TotpEnrolled("TOTP is enrolled: replacing it needs password and code")
            account = self.reauthenticate(account_id, password, code)
        secret = pyotp.random_base32()
        account.start_totp_enrolment(secret)
        self.save(account)
        return pyotp.TOTP(secret).provisioning_uri(name=account.username, issuer_name="RSE")

    def confirm_totp(self, account_id: uuid.UUID, code: str) -> None:
        account = self._account_by_id(account_id)
        if account.totp_pending is None:
            raise TotpNotStarted("no TOTP enrolment in progress")
        step = totp_step(account.totp_pending, code, account.totp_last_step)
        if step is None:
            raise LoginRefused("invalid TOTP code")
        account.confirm_totp()
        account.use_totp_step(step)  # the confirming code cannot log in again
        self.save(account)

    def change_password(self, account_id: uuid.UUID, current: str, new: str) -> None:
        """Set a new password; the current one is required."""
        account = self._account_by_id(account_id)
        self.failures.reserve(account.username, self.clock())
        if not password_matches(self.hasher, account.password_hash, current):
            raise LoginRefused("invalid credentials")
        self.failures.clear(account.username)
        account.change_password(self.hasher.hash(new))
        self.save(account)

    def unlock(self, username: str) -> None:
        """Clear an account's failed logins (an operator, at the counter)."""
        self._account(username)
        self.failures.clear(username)

    def deactivate_staff(self, username: str) -> Account:
        """Deactivate a staff account: no login, and its live tokens are revoked."""
        account = self._account(staff_username(username))
        account.deactivate(self.clock(), self.token_ttl)
        self.save(account)
        return account

    def reactivate_staff(self, username: str) -> None:
        account = self._account(staff_username(username))
        account.reactivate(self.clock())
        self.save(account)

    def revoke_token(self, claims: dict[str, Any], reason: RevocationReason) -> TokenRevocation:
        """Record that a token and its session are revoked; the relay tells every service."""
        revocation = TokenRevocation(
            jti=str(claims["jti"]),
            session_id=claims.get("sid"),
            subject=uuid.UUID(str(claims["sub"])),
            reason=reason,
            revoked_at=self.clock(),
            expires_at=datetime.fromtimestamp(int(claims["exp"]), UTC),
        )
        with contextlib.suppress(IntegrityError):  # revoked already: the first record stands
            self.save(revocation)
        return revocation

    def _known_account(self, username: str) -> Account | None:
        try:
            return self._account(username)
        except AccountNotFound:
            return None

    def _exists(self, aggregate_id: uuid.UUID) -> bool:
        try:
            self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return False
        return True

    def _citizen(self, citizen_id: uuid.UUID) -> Citizen:
        try:
            citizen: object = self.repository.get(citizen_id)
        except AggregateNotFoundError:
            citizen = None
        if not isinstance(citizen, Citizen):  # an account's or a NIF claim's id is no citizen
            raise CitizenNotFound(f"citizen {citizen_id} not found")
        return citizen

    def _account(self, username: str) -> Account:
        # Read for every username alike (staff ones are never released), so an erased
        # citizen's number, a live one and an unknown one take the same reads.
        generation = self._generation("sns", username)
        return self._account_by_id(Account.create_id(username, generation))

    def _account_by_id(self, account_id: uuid.UUID) -> Account:
        try:
            account: object = self.repository.get(account_id)
        except (AggregateNotFoundError, CitizenErased):
            account = None
        if not isinstance(account, Account):
            raise AccountNotFound("no such account")
        return account


def staff_username(username: str) -> str:
    """Staff accounts live in their own namespace, apart from SNS numbers."""
    return f"staff:{username}"


def token_claims(account: Account, session_id: str | None = None) -> dict[str, Any]:
    """The claims of a token issued after a login: once TOTP is enrolled, login proved it."""
    amr = ["pwd", "otp"] if account.totp_secret is not None else ["pwd"]
    claims = {"sub": str(account.id), "role": account.role, **account.claims, "amr": amr}
    return {**claims, "sid": session_id} if session_id else claims
