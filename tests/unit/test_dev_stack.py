"""`python -m bot dev`: the local account it creates is the admin the README promises (issue 12, item 10)."""
from __future__ import annotations

from types import SimpleNamespace

from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from bot.devtools.dev import DEV_ADMIN, _ensure_dev_admin
from bot.store.models import Advisor


def test_dev_prints_the_admin_account_it_created_and_reuses_it(database_url):
    settings = SimpleNamespace(database_url=database_url)
    line = _ensure_dev_admin(settings)
    assert line == f"admin account: {DEV_ADMIN[0]} / {DEV_ADMIN[1]}" and "advisor" not in line
    assert _ensure_dev_admin(settings) == line                # a second start finds it
    with Session(create_engine(database_url)) as session:
        [account] = session.scalars(select(Advisor)).all()
    assert account.email == DEV_ADMIN[0] and account.role == "admin"
