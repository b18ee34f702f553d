"""Administrators change a user's roles; the firm always keeps an administrator."""

from __future__ import annotations

import pytest

from passeur.bootstrap import App
from passeur.domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from passeur.domain.partners import Role
from passeur.services import partners
from tests.factories import firm, person


def test_an_administrator_changes_roles_and_the_next_request_sees_them(app: App) -> None:
    f = firm(app, n_clients=1)
    admin = person(app, f.partner_id, "admin@firm.be", Role.ADMINISTRATOR)
    ada = partners.add_user(app, f.partner_id, "ada@firm.be", "Ada", {Role.ACCOUNTANT})
    changed = partners.set_roles(
        app, f.partner_id, ada.id, {Role.ACCOUNTANT, Role.CLIENT_MANAGER}, actor=admin
    )
    assert changed.roles == {Role.ACCOUNTANT, Role.CLIENT_MANAGER}
    assert partners.get_user(app, f.partner_id, ada.id).roles == changed.roles


def test_the_last_administrator_keeps_the_role(app: App) -> None:
    f = firm(app, n_clients=1)
    only = partners.add_user(app, f.partner_id, "boss@firm.be", "Boss", {Role.ADMINISTRATOR})
    with pytest.raises(Conflict, match="last administrator"):
        partners.set_roles(app, f.partner_id, only.id, {Role.ACCOUNTANT})
    assert partners.get_user(app, f.partner_id, only.id).roles == {Role.ADMINISTRATOR}
    other = partners.add_user(app, f.partner_id, "two@firm.be", "Two", {Role.ADMINISTRATOR})
    partners.set_roles(app, f.partner_id, only.id, {Role.ACCOUNTANT})
    with pytest.raises(Conflict, match="last administrator"):
        partners.set_roles(app, f.partner_id, other.id, {Role.CLIENT_MANAGER})


def test_refusals_change_nothing(app: App) -> None:
    f = firm(app, n_clients=1)
    other = firm(app, n_clients=1, name="Other")
    manager = person(app, f.partner_id, "cm@firm.be", Role.CLIENT_MANAGER)
    ada = partners.add_user(app, f.partner_id, "ada@firm.be", "Ada", {Role.ACCOUNTANT})
    owner = partners.add_user(
        app, f.partner_id, "own@shop.be", "Own", {Role.BUSINESS}, client_id=f.clients[0].id
    )
    with pytest.raises(Forbidden):
        partners.set_roles(app, f.partner_id, ada.id, {Role.ADMINISTRATOR}, actor=manager)
    with pytest.raises(InvalidInput):
        partners.set_roles(app, f.partner_id, ada.id, set())
    with pytest.raises(InvalidInput):
        partners.set_roles(app, f.partner_id, ada.id, {Role.BUSINESS})
    with pytest.raises(Conflict):
        partners.set_roles(app, f.partner_id, owner.id, {Role.ACCOUNTANT})
    with pytest.raises(NotFound):
        partners.set_roles(app, other.partner_id, ada.id, {Role.ADMINISTRATOR})
    assert partners.get_user(app, f.partner_id, ada.id).roles == {Role.ACCOUNTANT}
    assert partners.get_user(app, f.partner_id, owner.id).roles == {Role.BUSINESS}
