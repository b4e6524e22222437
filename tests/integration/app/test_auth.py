"""Login, logout, sessions, CSRF, lockout, language."""

from sqlmodel import func, select

from app.models import AuditEvent, User
from tests.helpers import PASSWORD, count_rows, csrf, login, make_user


async def test_login_sets_httponly_samesite_session_and_rotates_id(client, sessionmaker):
    await make_user(sessionmaker, "admin1", "admin")
    token = await csrf(client)
    r = await client.post("/api/auth/login", json={"username": "admin1", "password": PASSWORD},
                          headers={"x-csrf-token": token})
    assert r.status_code == 200
    cookie = r.headers["set-cookie"]
    assert "msid=" in cookie and "HttpOnly" in cookie and "samesite=lax" in cookie.lower()
    first = client.cookies["msid"]
    me = await client.get("/api/me")
    assert me.status_code == 200 and me.json()["role"] == "admin"
    # Logging in again gives a new session id and the old one stops working.
    r = await client.post("/api/auth/login", json={"username": "admin1", "password": PASSWORD},
                          headers={"x-csrf-token": r.json()["csrf_token"]})
    second = client.cookies["msid"]
    assert second != first
    client.cookies.set("msid", first)
    assert (await client.get("/api/me")).status_code == 401


async def test_wrong_password_is_400_with_message_and_no_session(client, sessionmaker):
    await make_user(sessionmaker, "admin1", "admin")
    token = await csrf(client)
    r = await client.post("/api/auth/login", json={"username": "admin1", "password": "nope-nope-nope"},
                          headers={"x-csrf-token": token})
    assert r.status_code == 400
    assert r.json()["error"] == "用户名或密码错误。"
    assert "msid" not in client.cookies


async def test_unknown_user_gives_the_same_answer(client):
    token = await csrf(client)
    r = await client.post("/api/auth/login", json={"username": "ghost", "password": "nope-nope-nope"},
                          headers={"x-csrf-token": token, "accept-language": "en"})
    assert r.status_code == 400 and r.json()["error"] == "用户名或密码错误。"


async def test_account_lockout_after_five_failures_is_audited(client, sessionmaker):
    await make_user(sessionmaker, "owner1", "owner")
    token = await csrf(client)
    for _ in range(5):
        r = await client.post("/api/auth/login", json={"username": "owner1", "password": "bad-password-x"},
                              headers={"x-csrf-token": token})
        assert r.status_code == 400
    r = await client.post("/api/auth/login", json={"username": "owner1", "password": PASSWORD},
                          headers={"x-csrf-token": token})
    assert r.status_code == 429
    assert "锁定" in r.json()["error"]
    async with sessionmaker() as s:
        kinds = (await s.exec(select(AuditEvent.kind).where(AuditEvent.subject == "user:owner1"))).all()
    assert kinds == ["security.account_locked"]


async def test_ip_limit(client, app, sessionmaker):
    limiter = app.state.login_limiter
    limiter.max_ip = 3
    token = await csrf(client)
    for i in range(3):
        await client.post("/api/auth/login", json={"username": f"user{i}", "password": "bad-password-x"},
                          headers={"x-csrf-token": token})
    await make_user(sessionmaker, "fresh1", "owner")
    r = await client.post("/api/auth/login", json={"username": "fresh1", "password": PASSWORD},
                          headers={"x-csrf-token": token})
    assert r.status_code == 429


async def test_logout_destroys_session(client, sessionmaker):
    await make_user(sessionmaker, "reg1", "regulator")
    token = await login(client, "reg1")
    r = await client.post("/api/auth/logout", headers={"x-csrf-token": token})
    assert r.status_code == 200
    assert (await client.get("/api/me")).status_code == 401


async def test_page_login_and_logout(client, sessionmaker):
    await make_user(sessionmaker, "admin1", "admin")
    page = await client.get("/login")
    assert page.status_code == 200 and 'name="csrf_token"' in page.text
    token = await csrf(client)
    r = await client.post("/login", data={"username": "admin1", "password": PASSWORD, "csrf_token": token,
                                          "next": "/admin/registrations"})
    assert r.status_code == 303 and r.headers["location"] == "/admin/registrations"
    r = await client.get("/admin/registrations")
    assert r.status_code == 200 and "欢迎" in r.text
    token = await csrf(client)
    r = await client.post("/logout", data={"csrf_token": token})
    assert r.status_code == 303
    r = await client.get("/admin/registrations")
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


async def test_login_page_error_is_shown_in_form(client, sessionmaker):
    token = await csrf(client)
    r = await client.post("/login", data={"username": "x", "password": "y", "csrf_token": token})
    assert r.status_code == 400 and "用户名或密码错误" in r.text


async def test_open_redirect_is_refused(client, sessionmaker):
    await make_user(sessionmaker, "admin1", "admin")
    token = await csrf(client)
    r = await client.post("/login", data={"username": "admin1", "password": PASSWORD, "csrf_token": token,
                                          "next": "//evil.example/"})
    assert r.headers["location"] == "/workbench"


async def test_missing_or_wrong_csrf_is_403_and_nothing_written(client, sessionmaker):
    before = await count_rows(sessionmaker, User)
    body = {"username": "newowner", "password": "another-good-pass", "credit_code": "91350100M000100Y43",
            "name": "x", "contact_name": "y", "phone": "12345678", "address": "z"}
    r = await client.post("/api/signup/owner", json=body)
    assert r.status_code == 403 and "安全令牌" in r.json()["error"]
    r = await client.post("/api/signup/owner", json=body, headers={"x-csrf-token": "0" * 64})
    assert r.status_code == 403
    r = await client.post("/signup/owner", data={**body, "csrf_token": "forged"})
    assert r.status_code == 403
    assert await count_rows(sessionmaker, User) == before


async def test_csrf_token_is_bound_to_the_session(client, sessionmaker):
    await make_user(sessionmaker, "admin1", "admin")
    anon_token = await csrf(client)
    await login(client, "admin1")
    r = await client.post("/api/me/locale", json={"locale": "en"}, headers={"x-csrf-token": anon_token})
    assert r.status_code == 403


async def test_expired_session_says_so(client, app, sessionmaker):
    await make_user(sessionmaker, "admin1", "admin")
    await login(client, "admin1")
    await app.state.store.delete(f"s:{client.cookies['msid']}")
    r = await client.get("/api/me")
    assert r.status_code == 401 and "会话已过期" in r.json()["error"]
    r = await client.get("/account")
    assert r.status_code == 303 and "/login" in r.headers["location"]


async def test_absolute_timeout(client, app, sessionmaker):
    await make_user(sessionmaker, "admin1", "admin")
    await login(client, "admin1")
    app.state.sessions.absolute = -1
    assert (await client.get("/api/me")).status_code == 401


async def test_idle_timeout_expires_in_store(client, app, sessionmaker):
    await make_user(sessionmaker, "admin1", "admin")
    app.state.sessions.idle = 1
    await login(client, "admin1")
    import asyncio
    await asyncio.sleep(1.3)
    assert (await client.get("/api/me")).status_code == 401


async def test_language_is_remembered_per_user(client, sessionmaker):
    await make_user(sessionmaker, "admin1", "admin")
    token = await login(client, "admin1")
    r = await client.post("/api/me/locale", json={"locale": "en"}, headers={"x-csrf-token": token})
    assert r.status_code == 200 and r.json()["locale"] == "en"
    r = await client.post("/api/me/locale", json={"locale": "fr"}, headers={"x-csrf-token": token})
    assert r.status_code == 400 and "locale" in r.json()["fields"]
    client.cookies.clear()
    token = await login(client, "admin1")
    page = await client.get("/account")
    assert "My account" in page.text
    async with sessionmaker() as s:
        assert (await s.exec(select(User.locale).where(User.username == "admin1"))).one() == "en"


async def test_anonymous_language_switch_by_form(client):
    r = await client.get("/language?locale=en&next=/signup")
    assert r.status_code == 303 and r.headers["location"] == "/signup"
    assert "Register an agency" in (await client.get("/signup")).text
    assert "lang=en" in r.headers["set-cookie"]


async def test_parallel_guesses_cannot_pass_the_account_limit(client, app, sessionmaker, monkeypatch):
    """Twenty wrong passwords sent at once: only the first five are even checked; the account locks
    once, and afterwards even the right password is refused."""
    import asyncio

    import app.auth_routes as controllers
    await make_user(sessionmaker, "owner1", "owner")
    checked = []
    real = controllers.authenticate

    async def slow_authenticate(db, username, password):
        checked.append(password)
        await asyncio.sleep(0.05)  # every guess is in flight before any has failed
        return await real(db, username, password)

    monkeypatch.setattr(controllers, "authenticate", slow_authenticate)
    token = await csrf(client)
    replies = await asyncio.gather(*(
        client.post("/api/auth/login", json={"username": "owner1", "password": f"bad-password-{i}"},
                    headers={"x-csrf-token": token}) for i in range(20)))
    codes = sorted(r.status_code for r in replies)
    assert codes == [400] * 5 + [429] * 15 and len(checked) == 5
    r = await client.post("/api/auth/login", json={"username": "owner1", "password": PASSWORD},
                          headers={"x-csrf-token": token})
    assert r.status_code == 429
    async with sessionmaker() as s:
        kinds = (await s.exec(select(AuditEvent.kind).where(AuditEvent.subject == "user:owner1"))).all()
    assert kinds == ["security.account_locked"]


async def test_successful_logins_do_not_use_up_the_address_limit(client, app, sessionmaker):
    app.state.login_limiter.max_ip = 3
    await make_user(sessionmaker, "owner1", "owner")
    for _ in range(6):
        client.cookies.clear()
        token = await csrf(client)
        r = await client.post("/api/auth/login", json={"username": "owner1", "password": PASSWORD},
                              headers={"x-csrf-token": token})
        assert r.status_code == 200


async def test_a_signed_in_users_language_is_saved_only_by_a_post_with_the_csrf_token(client, sessionmaker):
    """GET /language changes nothing stored (a cross-site link could trigger it); the saved choice
    changes by POST, which needs the CSRF token."""
    await make_user(sessionmaker, "lang1", "admin")
    token = await login(client, "lang1")

    async def saved():
        async with sessionmaker() as s:
            return (await s.exec(select(User.locale).where(User.username == "lang1"))).one()

    before = await saved()
    r = await client.get("/language?locale=en&next=/account")
    assert r.status_code == 303 and await saved() == before
    r = await client.post("/language", data={"locale": "en", "next": "/account"})
    assert r.status_code == 403 and await saved() == before
    r = await client.post("/language", data={"locale": "en", "next": "/account", "csrf_token": token})
    assert r.status_code == 303 and r.headers["location"] == "/account"
    assert await saved() == "en"
    assert "My account" in (await client.get("/account")).text
    page = (await client.get("/account")).text
    assert 'action="/language"' in page and 'href="/language?' not in page


async def test_failures_from_one_address_do_not_lock_the_rightful_user_out_from_another(client, app, sessionmaker):
    """Five wrong passwords for `admin1` from one address lock that address out of the account; the
    administrator, from their own address, still logs in (and the lock is one audit event)."""
    import httpx

    await make_user(sessionmaker, "admin1", "admin")
    token = await csrf(client)
    for _ in range(5):
        r = await client.post("/api/auth/login", json={"username": "admin1", "password": "bad-password-x"},
                              headers={"x-csrf-token": token})
        assert r.status_code == 400
    r = await client.post("/api/auth/login", json={"username": "admin1", "password": PASSWORD},
                          headers={"x-csrf-token": token})
    assert r.status_code == 429
    transport = httpx.ASGITransport(app=app, client=("10.0.0.2", 50001))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as other:
        token2 = (await other.get("/api/csrf")).json()["csrf_token"]
        r = await other.post("/api/auth/login", json={"username": "admin1", "password": PASSWORD},
                             headers={"x-csrf-token": token2})
        assert r.status_code == 200, r.text
    async with sessionmaker() as s:
        kinds = (await s.exec(select(AuditEvent.kind).where(AuditEvent.subject == "user:admin1"))).all()
    assert kinds.count("security.account_locked") == 1


async def test_guesses_at_unknown_user_names_append_nothing_to_the_audit_chain(client, sessionmaker):
    token = await csrf(client)
    async with sessionmaker() as s:
        before = (await s.exec(select(func.count()).select_from(AuditEvent))).one()
    for name in ("ghost1", "ghost2"):
        for _ in range(6):
            r = await client.post("/api/auth/login", json={"username": name, "password": "bad-password-x"},
                                  headers={"x-csrf-token": token})
            assert r.status_code in (400, 429)
        assert r.status_code == 429  # the same limit applies: nobody learns that the name is unknown
    async with sessionmaker() as s:
        assert (await s.exec(select(func.count()).select_from(AuditEvent))).one() == before
