"""Registration bound to a proven identity: the form, the counter code, the OIDC provider.

A citizen registered through the form gets no account until they are activated, either
by a one-time code an operator issued at a health-unit counter, or by authenticating at
the OpenID Connect provider; a citizen who first comes through the provider is
registered from the ID token's claims, already activated.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from argon2.exceptions import InvalidHashError, VerificationError
from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError

from rse_identity.domain.account import Account
from rse_identity.domain.activation import (
    Activation,
    ActivationPolicy,
    ActivationRefused,
    AlreadyActivated,
)
from rse_identity.domain.citizen import ActivationMethod, Citizen
from rse_identity.domain.nif_claim import NifClaim
from rse_identity.domain.number_release import NumberRelease, release_id
from rse_identity.domain.oidc_login import OidcLogin, OidcLoginRefused
from rse_identity.domain.sns_claim import SnsClaim
from rse_shared.clock import Clock
from rse_shared.eventstore import ServiceApplication

if TYPE_CHECKING:
    from argon2 import PasswordHasher

# An account opened through the provider has no password: this is no argon2 hash, so no
# password ever verifies against it (a password comes with a counter activation).
NO_PASSWORD = "!no-password"
# Codes read aloud or typed from a slip: no 0/O, 1/I/L.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 10
GUESS_SAVE_TRIES = 20


class CitizenAlreadyRegistered(Exception):
    """An SNS number or NIF that already belongs to a registered citizen."""


class IdentityMismatch(Exception):
    """The provider's claims name an SNS number held by a citizen with another NIF."""


class ActivationCode(NamedTuple):
    """A code as issued: told to the citizen once, stored only as a hash."""

    code: str
    expires_at: datetime


class ProvenIdentity(NamedTuple):
    """What the identity provider asserts about the citizen (the ID token's claims)."""

    sns_number: str
    nif: str
    full_name: str
    date_of_birth: date
    email: str


class RegistrationCommands(ServiceApplication):
    """The registration use cases of identity's Application (its base)."""

    # Set by IdentityApplication's constructor.
    hasher: PasswordHasher
    clock: Clock
    activation_policy: ActivationPolicy

    def register_citizen(
        self, *, sns_number: str, nif: str, password: str, **personal: Any
    ) -> uuid.UUID:
        """A citizen from the form: registered, not activated, no account yet."""
        citizen = Citizen.register(sns_number, nif, **personal)
        pending = Activation(citizen_id=citizen.id, password_hash=self.hasher.hash(password))
        self._save_new_citizen(citizen, pending)
        return citizen.id

    def issue_activation_code(self, citizen_id: uuid.UUID) -> ActivationCode:
        """A one-time code for a citizen whose card an operator checked."""
        citizen = self._get(citizen_id)
        if not isinstance(citizen, Citizen):
            raise CitizenNotFoundError(f"citizen {citizen_id} not found")
        activation = self._pending(citizen_id)
        if citizen.activated is not None or activation is None:
            raise AlreadyActivated("the citizen is already activated")
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        now = self.clock()
        activation.issue_code(self.hasher.hash(code), now, self.activation_policy)
        self.save(activation)
        assert activation.expires_at is not None
        return ActivationCode(code, activation.expires_at)

    def activate_with_code(self, sns_number: str, code: str, password: str | None) -> uuid.UUID:
        """Spend the counter code: the citizen is activated and their account opens."""
        try:
            citizen = self._citizen_by_sns(sns_number)
        except CitizenNotFoundError:
            self.hasher.hash(code)  # as long as a wrong code takes
            raise ActivationRefused("activation refused") from None
        activation = self._spend_code(citizen.id, code)
        password_hash = self.hasher.hash(password) if password else activation.password_hash
        self._open_account(citizen, "counter", password_hash, activation)
        return citizen.id

    def _spend_code(self, citizen_id: uuid.UUID, code: str) -> Activation:
        # Every guess is counted before it is answered: one that lost the race to save its
        # count is tried again on the fresh count, so parallel guesses cannot undercount.
        for _ in range(GUESS_SAVE_TRIES):
            activation = self._pending(citizen_id)
            now = self.clock()
            if activation is None or not activation.code_is_live(now, self.activation_policy):
                # No live code (none issued, expired, burnt, already used): answered as a
                # wrong code, in as long.
                self.hasher.hash(code)
                raise ActivationRefused("activation refused")
            if activation.try_code(self._matches(code), now, self.activation_policy):
                return activation  # spent: saved with the account it opens
            try:
                self.save(activation)
            except IntegrityError:
                continue
            raise ActivationRefused("activation refused")
        raise ActivationRefused("activation refused")

    def register_or_find_proven(self, proven: ProvenIdentity) -> Account:
        """The account of the citizen the provider vouched for, activated (and registered)
        if need be."""
        try:
            citizen = self._citizen_by_sns(proven.sns_number)
        except CitizenNotFoundError:
            return self._register_proven(proven)
        if citizen.nif != proven.nif:
            raise IdentityMismatch("the provider's NIF is not this citizen's")
        if citizen.activated is None:
            pending = self._pending(citizen.id)
            password_hash = pending.password_hash if pending else NO_PASSWORD
            self._open_account(citizen, "oidc", password_hash, pending)
        return self._citizen_account(citizen)

    def start_oidc_login(
        self, state: str, nonce: str, code_verifier: str, expires_at: datetime
    ) -> None:
        """Keep a login's state, nonce and PKCE verifier until its callback."""
        login = OidcLogin(
            state=state, nonce=nonce, code_verifier=code_verifier, expires_at=expires_at
        )
        self.save(login)

    def use_oidc_login(self, state: str) -> OidcLogin:
        """The login this state started, spent: a state answers one callback only."""
        login = self._get(OidcLogin.create_id(state))
        if not isinstance(login, OidcLogin):
            raise OidcLoginRefused("unknown, expired or used state")
        login.use(self.clock())
        try:
            self.save(login)
        except IntegrityError:
            raise OidcLoginRefused("unknown, expired or used state") from None
        return login

    def _register_proven(self, proven: ProvenIdentity) -> Account:
        citizen = Citizen.register(
            proven.sns_number,
            proven.nif,
            full_name=proven.full_name,
            date_of_birth=proven.date_of_birth,
            email=proven.email,
            phone="",
            address="",
        )
        citizen.activate("oidc")
        account = citizen_account(citizen, NO_PASSWORD, self._generation("sns", citizen.sns_number))
        self._save_new_citizen(citizen, account)
        return account

    def _save_new_citizen(self, citizen: Citizen, *others: Aggregate) -> None:
        # The claims' ids come from the SNS number and the NIF (in the generation an
        # erasure left them at): a second registration of either conflicts at version 1 in
        # the same transaction, whatever it read before.
        sns = SnsClaim(
            sns_number=citizen.sns_number,
            citizen_id=citizen.id,
            generation=self._generation("sns", citizen.sns_number),
        )
        nif = NifClaim(
            nif=citizen.nif, citizen_id=citizen.id, generation=self._generation("nif", citizen.nif)
        )
        try:
            self.save(citizen, sns, nif, *others)
        except IntegrityError:
            raise CitizenAlreadyRegistered("SNS number or NIF already registered") from None

    def _generation(self, kind: str, number: str) -> int:
        """The generation of the number's live claim: how many erasures released it."""
        release = self._get(release_id(kind, number))
        return release.generation if isinstance(release, NumberRelease) else 0

    def _release(self, kind: str, number: str) -> NumberRelease:
        """The number's release, one generation on (saved by the caller with the erasure)."""
        release = self._get(release_id(kind, number))
        if isinstance(release, NumberRelease):
            release.release_again()
            return release
        return NumberRelease(release_id(kind, number))

    def _open_account(
        self,
        citizen: Citizen,
        method: ActivationMethod,
        password_hash: str,
        activation: Activation | None,
    ) -> None:
        citizen.activate(method)
        try:
            account = citizen_account(
                citizen, password_hash, self._generation("sns", citizen.sns_number)
            )
            self.save(citizen, account, activation)
        except IntegrityError:
            # Another activation of the same citizen won the race: this one changes nothing.
            raise ActivationRefused("activation refused") from None

    def _matches(self, code: str) -> Any:
        def matches(code_hash: str) -> bool:
            try:
                return bool(self.hasher.verify(code_hash, code))
            except (VerificationError, InvalidHashError):
                return False

        return matches

    def _get(self, aggregate_id: uuid.UUID) -> object:
        try:
            found: object = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None
        return found

    def _citizen_by_sns(self, sns_number: str) -> Citizen:
        claim = self._get(SnsClaim.create_id(sns_number, self._generation("sns", sns_number)))
        citizen = self._get(claim.citizen_id) if isinstance(claim, SnsClaim) else None
        if not isinstance(citizen, Citizen):
            raise CitizenNotFoundError(sns_number)
        return citizen

    def _pending(self, citizen_id: uuid.UUID) -> Activation | None:
        activation = self._get(Activation.create_id(citizen_id))
        return activation if isinstance(activation, Activation) else None

    def _citizen_account(self, citizen: Citizen) -> Account:
        generation = self._generation("sns", citizen.sns_number)
        account = self._get(Account.create_id(citizen.sns_number, generation))
        if not isinstance(account, Account):
            raise ActivationRefused("no account")
        return account


class CitizenNotFoundError(LookupError):
    """No citizen holds that SNS number."""


def citizen_account(citizen: Citizen, password_hash: str, generation: int) -> Account:
    """The login account of an activated citizen (username: the SNS number, in the
    generation of the number's claim)."""
    return Account(
        username=citizen.sns_number,
        password_hash=password_hash,
        role="citizen",
        claims={"citizen_id": str(citizen.id)},
        generation=generation,
    )
