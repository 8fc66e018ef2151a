"""A sealed block opens with its subject's key and nothing else: the data key is the only thing
between an event on Kafka and the person's data, and the subject's id is bound in, so a block
cannot be passed off as another person's."""

from __future__ import annotations

import uuid

import pytest
from cryptography.exceptions import InvalidTag

from wangge.events.sealed import Sealed, generate_key, sealer, unseal


def test_a_block_opens_with_its_subjects_key() -> None:
    key, subject = generate_key(), uuid.uuid4()
    block = {"name": "王小明", "phone": "+8613812345678"}
    sealed = sealer(key, subject)(block)
    assert sealed.key == str(subject)
    assert "王小明" not in sealed.model_dump_json() and "13812345678" not in sealed.ciphertext
    assert unseal(key, sealed) == block


def test_two_seals_of_one_block_differ() -> None:
    seal = sealer(generate_key(), uuid.uuid4())
    assert seal({"a": 1}).ciphertext != seal({"a": 1}).ciphertext  # a fresh nonce each time


def test_another_key_or_another_subject_does_not_open_it() -> None:
    key, subject = generate_key(), uuid.uuid4()
    sealed = sealer(key, subject)({"name": "王小明"})
    with pytest.raises(InvalidTag):
        unseal(generate_key(), sealed)
    moved = Sealed(key=str(uuid.uuid4()), nonce=sealed.nonce, ciphertext=sealed.ciphertext)
    with pytest.raises(InvalidTag):
        unseal(key, moved)
