"""Per-citizen keys, the protected part of events, and sealed event-store state, in memory."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from rse_shared.eventstore import StateCipher, StoreUnreadable, citizen_of, state_aad
from rse_shared.keyring import CitizenErased, KekMismatch, MemoryKeyring, new_key, unwrap, wrap
from rse_shared.protection import ProtectionBroken, hidden, open_for, protect, reveal, seal_for

CITIZEN = uuid.uuid4()


def document(**payload: Any) -> dict[str, Any]:
    return {
        "event_type": "HealthSummaryUpdated",
        "event_id": str(uuid.uuid4()),
        "citizen_id": str(CITIZEN),
        "source_position": 7,
        **payload,
    }


def test_protected_fields_leave_the_document_and_come_back() -> None:
    keyring = MemoryKeyring()
    plain = document(allergies=["penicillin"], updated_by="P-1")
    sealed = protect(plain, ("allergies",), keyring)
    assert "allergies" not in sealed
    assert "penicillin" not in json.dumps(sealed)
    assert sealed["updated_by"] == "P-1"  # what is not sensitive stays in clear
    assert reveal(sealed, keyring) == plain
    assert hidden(sealed) == {k: v for k, v in plain.items() if k != "allergies"}


def test_an_event_protected_again_is_byte_identical() -> None:
    """A relay that publishes an event once more (after a crash) publishes the same bytes,
    so the hash chain over them holds; another value in its place seals differently."""
    keyring = MemoryKeyring()
    event = document(allergies=["latex"])
    once = protect(dict(event), ("allergies",), keyring)
    again = protect(dict(event), ("allergies",), keyring)
    assert json.dumps(once) == json.dumps(again)
    other = protect({**event, "allergies": ["pollen"]}, ("allergies",), keyring)
    assert other["protected"] != once["protected"]


def test_a_part_protected_before_the_deterministic_mode_still_opens() -> None:
    keyring = MemoryKeyring()
    key, nonce = keyring.data_key(CITIZEN), b"\x07" * 12
    context = "ctx:1"
    legacy = AESGCM(key).encrypt(nonce, b'{"a":1}', context.encode())
    text = "1:" + base64.b64encode(nonce + legacy).decode()
    assert open_for(keyring, CITIZEN, text, context) == {"a": 1}


def test_a_protected_part_moved_onto_another_event_does_not_open() -> None:
    keyring = MemoryKeyring()
    sealed = protect(document(allergies=["latex"]), ("allergies",), keyring)
    moved = {**document(), "protected": sealed["protected"]}
    with pytest.raises(ProtectionBroken):
        reveal(moved, keyring)


def test_a_sealed_value_opens_only_in_its_context_and_for_its_citizen() -> None:
    keyring = MemoryKeyring()
    text = seal_for(keyring, CITIZEN, {"access_code": "123456"}, "codes:rx-1")
    assert "123456" not in text
    assert open_for(keyring, CITIZEN, text, "codes:rx-1") == {"access_code": "123456"}
    with pytest.raises(ProtectionBroken):
        open_for(keyring, CITIZEN, text, "codes:rx-2")  # copied onto another prescription
    with pytest.raises(ProtectionBroken):
        open_for(keyring, uuid.uuid4(), text, "codes:rx-1")  # another citizen's key
    with pytest.raises(ProtectionBroken):
        open_for(keyring, CITIZEN, "9" + text[1:], "codes:rx-1")  # an unknown version


def test_an_erased_citizen_reveals_nothing() -> None:
    keyring = MemoryKeyring()
    sealed = protect(document(allergies=["latex"]), ("allergies",), keyring)
    keyring.erase(CITIZEN, erased_by="op", legal_basis="wrongly registered")
    with pytest.raises(CitizenErased):
        reveal(sealed, keyring)
    with pytest.raises(CitizenErased):
        keyring.data_key(CITIZEN)  # and no new key is ever made for them


def test_a_data_key_unwraps_only_with_its_kek_and_for_its_citizen() -> None:
    kek, key = new_key(), new_key()
    wrapped = wrap(kek, CITIZEN, key)
    assert unwrap(kek, CITIZEN, wrapped) == key
    with pytest.raises(KekMismatch):
        unwrap(new_key(), CITIZEN, wrapped)
    with pytest.raises(KekMismatch):
        unwrap(kek, uuid.uuid4(), wrapped)


def test_stored_state_is_sealed_per_citizen_and_shredded_with_the_key() -> None:
    keyring = MemoryKeyring()
    cipher = StateCipher(new_key(), keyring)
    state = b'{"allergies":["penicillin"]}'
    aad = state_aad(uuid.uuid4(), 1)
    sealed = cipher.seal(state, CITIZEN, aad)
    assert b"penicillin" not in sealed
    assert cipher.open(sealed, aad) == state
    with pytest.raises(StoreUnreadable):
        cipher.open(sealed, state_aad(uuid.uuid4(), 1))  # copied onto another aggregate
    keyring.erase(CITIZEN, erased_by="op", legal_basis="legal order")
    with pytest.raises(CitizenErased):
        cipher.open(sealed, aad)


def test_state_of_no_citizen_is_sealed_under_the_store_key() -> None:
    store_key = new_key()
    sealed = StateCipher(store_key, MemoryKeyring()).seal(b'{"totp":"SECRET"}', None, b"a:1")
    assert b"SECRET" not in sealed
    assert StateCipher(store_key, None).open(sealed, b"a:1") == b'{"totp":"SECRET"}'
    with pytest.raises(StoreUnreadable):
        StateCipher(new_key(), None).open(sealed, b"a:1")


def test_state_in_clear_is_refused_unless_a_migration_accepts_it() -> None:
    """An insider who inserts a row in clear (a forged event) is not believed; a store
    written before encryption reads only while the operator says so."""
    forged = b'{"allergies":[],"citizen_id":"' + str(CITIZEN).encode() + b'"}'
    with pytest.raises(StoreUnreadable, match="in clear"):
        StateCipher(new_key(), MemoryKeyring()).open(forged, b"x:1")
    migrating = StateCipher(new_key(), None, accept_clear=True)
    assert migrating.open(b'{"a":1}', b"x:1") == b'{"a":1}'


class Owned:
    class Event:
        def __init__(self, citizen_id: object) -> None:
            self.citizen_id = citizen_id
            self.originator_id = uuid.uuid4()


class Person:
    citizen_is_id = True

    class Event:
        def __init__(self) -> None:
            self.originator_id = uuid.uuid4()


class Ledger:
    store_keyed = True

    class Event:
        def __init__(self) -> None:
            self.citizen_id = CITIZEN


def test_whose_an_event_is() -> None:
    assert citizen_of(Owned.Event(CITIZEN)) == CITIZEN
    assert citizen_of(Owned.Event(str(CITIZEN))) == CITIZEN
    assert citizen_of(Owned.Event("not a uuid")) is None
    person = Person.Event()
    assert citizen_of(person) == person.originator_id
    assert citizen_of(Ledger.Event()) is None
