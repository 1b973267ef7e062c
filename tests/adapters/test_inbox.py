"""The advisor inbox over HTTP: login, lockout, CSRF, escaping, claim, reply with translation."""
from __future__ import annotations

from sqlalchemy import select

from bot.store.models import Advisor, AuditEntry, Case, Message
from tests.support.inbox import csrf, login, open_case


def test_login_required_and_wrong_password(client, advisor):
    assert client.get("/inbox/").status_code == 302
    assert login(client, password="wrong password").status_code == 401
    assert login(client).status_code == 302
    assert client.get("/inbox/").status_code == 200


def test_lockout_after_five_failures(client, advisor):
    for _ in range(5):
        login(client, password="nope nope nope")
    response = login(client)
    assert response.status_code == 401 and b"locked" in response.data


def test_post_without_csrf_is_rejected(client, advisor, bot, services):
    open_case(bot)
    login(client)
    with services.sessions() as session:
        case_id = session.scalar(select(Case.id))
    response = client.post(f"/inbox/cases/{case_id}/action", data={"action": "claim"})
    assert response.status_code == 400 and b"CSRF" in response.data


def test_user_text_is_escaped(client, advisor, bot, services):
    open_case(bot, text="<script>alert(1)</script>")
    login(client)
    with services.sessions() as session:
        case_id = session.scalar(select(Case.id))
    page = client.get(f"/inbox/cases/{case_id}").data
    assert b"<script>alert(1)</script>" not in page and b"&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_claim_reply_and_delivery_as_the_advisor(client, advisor, bot, services, fake_line):
    open_case(bot)
    login(client)
    with services.sessions() as session:
        case_id = session.scalar(select(Case.id))
    page = client.get(f"/inbox/cases/{case_id}").data
    token = csrf(page)
    client.post(f"/inbox/cases/{case_id}/action", data={"action": "claim", "csrf_token": token})
    preview = client.post(f"/inbox/cases/{case_id}/preview", data={"text": "明日の10時に窓口に来てください。", "csrf_token": token})
    assert preview.status_code == 200 and "確認".encode() in preview.data
    client.post(f"/inbox/cases/{case_id}/send", data={"final_text": "Vui lòng đến quầy lúc 10 giờ ngày mai.",
                                                      "source_ja": "明日の10時に窓口に来てください。", "csrf_token": token})
    bot.work()
    push = fake_line.messages_to("Uvi-mom")[-1]
    assert push["endpoint"] == "push" and push["retryKey"]
    assert push["messages"][0]["text"] == "Vui lòng đến quầy lúc 10 giờ ngày mai."
    assert push["messages"][0]["sender"]["name"] == "Tư vấn viên"      # never kanji to a Vietnamese reader
    with services.sessions() as session:
        case = session.get(Case, case_id)
        sent = session.scalar(select(Message).where(Message.sender == "advisor"))
        actions = set(session.scalars(select(AuditEntry.action)).all())
    assert case.status == "waiting_user" and case.first_response_at is not None
    assert sent.delivery_status == "sent" and sent.translation_source.startswith("明日")
    assert {"case.view", "case.claim", "case.reply"} <= actions


def test_case_list_json_for_live_updates(client, advisor, bot):
    login(client)
    assert client.get("/inbox/api/cases").get_json()["cases"] == []
    open_case(bot)
    cases = client.get("/inbox/api/cases").get_json()["cases"]
    assert len(cases) == 1 and cases[0]["locale"] == "vi"


def test_only_admins_see_accounts_and_audit(client, advisor):
    login(client)
    assert client.get("/inbox/admin/audit").status_code == 403
    client.post("/inbox/logout", data={"csrf_token": csrf(client.get("/inbox/password").data)})
    login(client, "admin@npo.example")
    assert client.get("/inbox/admin/audit").status_code == 200


def test_admin_exports_and_deletes_a_users_data_and_both_are_audited(client, advisor, bot, services):
    from bot.store.models import User
    open_case(bot, user_id="Uadmin-del", text="please delete me later")
    login(client, "admin@npo.example")
    with services.sessions() as session:
        user_id = session.scalar(select(User.id).where(User.line_user_id == "Uadmin-del"))
    export = client.get(f"/inbox/admin/users/{user_id}/export")
    assert export.status_code == 200 and "please delete me later" in export.get_data(as_text=True)
    token = csrf(client.get("/inbox/password").data)
    refused = client.post(f"/inbox/admin/users/{user_id}/delete", data={"csrf_token": token, "confirm": "no"})
    assert refused.status_code == 302
    client.post(f"/inbox/admin/users/{user_id}/delete", data={"csrf_token": token, "confirm": "DELETE"})
    with services.sessions() as session:
        assert session.get(User, user_id) is None
        actions = session.scalars(select(AuditEntry.action)).all()
    assert "user.export" in actions and "user.delete" in actions
    page = client.get("/inbox/admin/audit").get_data(as_text=True)
    assert "利用者データの書き出し" in page and "利用者データの削除" in page    # in Japanese, the code beside it
    assert "{'" not in page                                                    # details as text, not a dict


def test_open_case_page_learns_of_new_messages(client, advisor, bot, services):
    open_case(bot, user_id="Unew")
    login(client)
    with services.sessions() as session:
        case_id = session.scalar(select(Case.id))
    before = client.get(f"/inbox/api/cases/{case_id}/messages").get_json()["messages"]
    bot.say("Unew", "xq")
    # Her message, and the acknowledgement when one is due (at most every ACK_EVERY per case:
    # opening the case already acknowledged the fever message).
    assert client.get(f"/inbox/api/cases/{case_id}/messages").get_json()["messages"] in (before + 1, before + 2)


def test_parents_see_the_advisors_latin_name_set_on_the_accounts_page(client, advisor, bot, services, fake_line):
    login(client, "admin@npo.example")
    with services.sessions() as session:
        tanaka = session.scalar(select(Advisor.id).where(Advisor.email == "tanaka@npo.example"))
    token = csrf(client.get("/inbox/admin/accounts").data)
    bad = client.post("/inbox/admin/accounts", data={"action": "latin_name", "advisor_id": tanaka,
                                                     "display_name_latin": "田中", "csrf_token": token})
    assert b"Latin letters" in bad.data
    client.post("/inbox/admin/accounts", data={"action": "latin_name", "advisor_id": tanaka,
                                               "display_name_latin": "Aiko Tanaka", "csrf_token": token})
    page = client.get("/inbox/admin/accounts").get_data(as_text=True)
    assert 'value="Aiko Tanaka"' in page
    client.post("/inbox/logout", data={"csrf_token": csrf(client.get("/inbox/password").data)})
    open_case(bot, user_id="Umy-mom", text="hello")
    login(client)
    with services.sessions() as session:
        case_id = session.scalar(select(Case.id))
    token = csrf(client.get(f"/inbox/cases/{case_id}").data)
    client.post(f"/inbox/cases/{case_id}/send", data={"final_text": "Xin chào", "source_ja": "", "csrf_token": token})
    bot.work()
    assert fake_line.messages_to("Umy-mom")[-1]["messages"][0]["sender"]["name"] == "Aiko Tanaka"
