"""Every domain error crosses nameko RPC as itself, so a distributed deployment answers with
the same HTTP status as the embedded one (a retention-erased document is 410, not 500)."""

from __future__ import annotations

import inspect

import pytest
from nameko.exceptions import RemoteError, deserialize, serialize

import cp247.nameko_support  # noqa: F401  (registers the domain errors with nameko)
from cp247 import errors

DEFINED = [
    cls
    for _, cls in inspect.getmembers(errors, inspect.isclass)
    if issubclass(cls, errors.DomainError) and cls.__module__ == errors.__name__
]


def test_every_domain_error_of_the_module_is_in_all() -> None:
    assert errors.Erased in DEFINED  # the list is really read from the module
    missing = [cls.__name__ for cls in DEFINED if cls not in errors.ALL]
    assert missing == [], f"{missing} not in cp247.errors.ALL: RPC would turn them into 500"
    assert len(set(errors.ALL)) == len(errors.ALL)


@pytest.mark.parametrize("cls", DEFINED, ids=lambda cls: cls.__name__)
def test_a_remote_domain_error_comes_back_as_itself(cls: type[errors.DomainError]) -> None:
    # Text values: nameko's serialisation makes any other scalar its str() on the way.
    sent = cls("the message", {"field": "why"}, {"extra": "value"})
    received = deserialize(serialize(sent))
    assert not isinstance(received, RemoteError)
    assert type(received) is cls
    assert received.http_status == cls.http_status
    assert received.body() == sent.body()


def test_a_remote_erased_document_is_gone_not_an_internal_error() -> None:
    received = deserialize(serialize(errors.Erased("erased after retention")))
    assert isinstance(received, errors.Erased)
    assert received.http_status == 410
    assert received.body() == {"error": "erased", "message": "erased after retention"}
