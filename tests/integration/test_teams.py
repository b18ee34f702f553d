"""A client's team: who is assigned with which access, and who could be added."""

from __future__ import annotations

import pytest

from passeur.bootstrap import App
from passeur.domain.errors import Forbidden
from passeur.domain.partners import Access, Role
from passeur.services import partners
from tests.factories import firm, person


def test_team_lists_members_and_business_users_and_candidates(app: App) -> None:
    f = firm(app, n_clients=2)
    pid, (cid, other) = f.partner_id, [c.id for c in f.clients]
    ann = partners.add_user(app, pid, "ann@firm.be", "Ann", {Role.ACCOUNTANT})
    bob = partners.add_user(app, pid, "bob@firm.be", "bob", {Role.ACCOUNTANT})
    boss = partners.add_user(app, pid, "boss@firm.be", "Boss", {Role.ADMINISTRATOR})
    own = partners.add_user(app, pid, "own@client.be", "Owner", {Role.BUSINESS}, client_id=cid)
    partners.add_user(app, pid, "else@client.be", "Else", {Role.BUSINESS}, client_id=other)
    partners.assign(app, pid, bob.id, cid, Access.VIEW)
    partners.assign(app, pid, ann.id, cid, Access.EDIT)
    partners.assign(app, pid, boss.id, other, Access.EDIT)

    team = partners.team(app, pid, cid)
    assert [(u.id, a) for u, a in team.members] == [(ann.id, Access.EDIT), (bob.id, Access.VIEW)]
    assert [u.id for u in team.business_users] == [own.id]
    assert [u.id for u in partners.team_candidates(app, pid, cid)] == [boss.id]


def test_team_is_seen_by_the_clients_viewers_and_managed_by_team_managers(app: App) -> None:
    f = firm(app, n_clients=2)
    pid, (cid, other) = f.partner_id, [c.id for c in f.clients]
    viewer = person(app, pid, "v@firm.be", Role.ACCOUNTANT, assign={cid: Access.EDIT})
    manager = person(app, pid, "m@firm.be", Role.CLIENT_MANAGER)
    assert [u.email for u, _ in partners.team(app, pid, cid, actor=viewer).members] == ["v@firm.be"]
    with pytest.raises(Forbidden):
        partners.team(app, pid, other, actor=viewer)
    with pytest.raises(Forbidden):
        partners.team_candidates(app, pid, cid, actor=viewer)
    assert "v@firm.be" not in {
        u.email for u in partners.team_candidates(app, pid, cid, actor=manager)
    }
