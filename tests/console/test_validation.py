"""Issue 15 item 7: every parameter of every route is validated into a clear 4xx, in the
caller's format (the console's error page for a page, problem+json under /api), with the
security headers of a normal answer; no input is a 500, and no filter is silently dropped.

The walk enumerates the app's routes, so a route added later is walked too."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from urllib.parse import quote

import pytest
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from httpx import Response

from hub.console.app import create_app
from hub.console.params import app_routes, declared_query
from hub.console.problems import SECURITY_HEADERS
from tests.audit.test_queries import decision
from tests.console.conftest import Console, csrf, login

HOSTILE = [
    "9999-12-31", "0001-01-01", "2026-02-30", "garbage", "99999999999999999999", "-1", "0",
    "1e9", "\x00", "a\x00b", "x" * 5000, "' OR 1=1 --", "\u202e\ufeff", "../../etc/passwd",
    "%", " ", "<script>alert(1)</script>", "NaN",
]  # fmt: skip


def _form_fields(route: APIRoute) -> set[str]:
    names: set[str] = set()
    todo: list[Dependant] = [route.dependant]
    while todo:
        d = todo.pop()
        names.update(p.alias for p in d.body_params)
        todo.extend(d.dependencies)
    return names


def _cases(client: TestClient) -> Iterator[tuple[str, str, dict[str, str], dict[str, str]]]:
    """(method, url path, query, form) with one hostile value in one parameter at a time."""
    for path, methods, route in app_routes(client.app):
        path_names = re.findall(r"\{([^}]+)\}", path)
        plain = re.sub(r"\{[^}]+\}", "d1", path)
        for method in sorted(methods - {"HEAD"}):
            for value in HOSTILE:
                for name in path_names:
                    url = path
                    for other in path_names:
                        url = url.replace(
                            "{" + other + "}", quote(value, safe="") if other == name else "d1"
                        )
                    yield method, url, {}, {}
                for name in sorted(declared_query(route)):
                    yield method, plain, {name: value}, {}
                if method == "POST":
                    for name in sorted(_form_fields(route) - {"csrf_token"}):
                        yield method, plain, {}, {name: value}
            yield method, plain, {"no_such_filter": "1"}, {}


def _check(response: Response, url: str) -> None:
    assert response.status_code < 500, (url, response.status_code, response.text[:300])
    for name in SECURITY_HEADERS:
        assert name in response.headers, (url, name)
    if 400 <= response.status_code < 500:
        kind = response.headers.get("content-type", "")
        if url.startswith("/api/"):
            assert kind.startswith("application/problem+json"), (url, kind)
            body = response.json()
            assert body["status"] == response.status_code and body["detail"], url
        else:
            assert kind.startswith("text/html"), (url, kind, response.text[:200])


@pytest.mark.parametrize("user", ["officer", "liverpool"])
def test_every_route_answers_hostile_parameters_with_a_clear_4xx(
    console: Console, user: str
) -> None:
    app = create_app(console.app_state.config, console.app_state)
    client = login(TestClient(app, raise_server_exceptions=False), user)
    token = csrf(client)
    walked = 0
    for method, url, query, form in _cases(client):
        if url == "/login" or url == "/logout":
            continue  # walked below: a hostile login counts failures, logout ends the session
        if method == "GET":
            response = client.get(url, params=query, follow_redirects=False)
        else:
            response = client.post(
                url, params=query, data=form | {"csrf_token": token}, follow_redirects=False
            )
        _check(response, url)
        walked += 1
    assert walked > 500
    anonymous = TestClient(app, raise_server_exceptions=False)
    for value in HOSTILE:
        _check(anonymous.get("/login", params={"next": value}, follow_redirects=False), "/login")
        page = anonymous.get("/login")
        login_token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert login_token is not None
        for field in ("username", "password", "next"):
            data = {"username": "nobody", "password": "not the password", field: value}
            response = anonymous.post(
                "/login", data=data | {"csrf_token": login_token.group(1)}, follow_redirects=False
            )
            _check(response, "/login")


@pytest.mark.parametrize(
    "url",
    ["/activity?to=9999-12-31", "/decisions?to=9999-12-31", "/export/decisions.csv?to=9999-12-31",
     "/api/decisions?to=9999-12-31", "/decisions?page=99999999999999999999",
     "/alerts?page=99999999999999999999", "/api/decisions?page=99999999999999999999",
     "/export/decisions.csv?from=garbage", "/export/activity.csv?from=garbage",
     "/export/receipts.csv?from=2026-13-01", "/api/activity?from=garbage",
     "/decisions?page=abc", "/export/decisions.csv?form=2026-11-01",
     "/export/decisions.csv?from=2026-11-02&to=2026-11-01",
     "/export/decisions.csv?outcome=shared&outcome=withheld"],
)  # fmt: skip
def test_the_reported_inputs_are_refused_in_the_callers_format(console: Console, url: str) -> None:
    client = login(console.client(), "officer")
    response = client.get(url)
    assert response.status_code == 400, (url, response.text[:300])
    _check(response, url)
    if url.startswith("/api/"):
        problem = response.json()
        assert problem["type"] == "urn:hub:console:problem:invalid-parameter"
        assert problem["errors"][0]["parameter"] in ("from", "to", "page")
    else:
        assert "<h1>" in response.text and 'id="problems"' in response.text
        assert "text/csv" not in response.headers["content-type"]  # no export was made


def test_an_export_with_a_valid_filter_is_exactly_that_filter(console: Console) -> None:
    client = login(console.client(), "officer")
    csv = client.get("/export/decisions.csv?from=2026-11-02&to=2026-11-02").text
    days = {line.split(",")[1][:10] for line in csv.splitlines()[1:]}
    assert days == {"2026-11-02"}
    assert client.get("/decisions?from=&to=&outcome=").status_code == 200  # empty: not given


def test_errors_carry_the_security_headers_and_hsts_with_secure_cookies(console: Console) -> None:
    client = login(console.client(https=True), "officer")
    for url in ("/activity", "/decisions?page=abc", "/api/decisions?to=9999-12-31", "/nowhere",
                "/api/nowhere", "/decisions/no-such"):  # fmt: skip
        response = client.get(url)
        assert response.headers["strict-transport-security"].startswith("max-age="), url
        assert response.headers["x-frame-options"] == "DENY", url
    plain = login(console.client(), "officer")
    assert "strict-transport-security" not in plain.get("/activity").headers
    api_401 = console.client().get("/api/decisions")
    assert api_401.status_code == 401
    assert api_401.headers["content-type"].startswith("application/problem+json")
    assert api_401.headers["www-authenticate"] == "Cookie"


def test_an_unexpected_failure_is_a_plain_500_with_headers(console: Console) -> None:
    """A fault of the hub itself (here: the audit database gone) says nothing of internals
    and still carries the headers."""
    app = create_app(console.app_state.config, console.app_state)
    client = login(TestClient(app, raise_server_exceptions=False), "officer")
    console.app_state.store.engine.dispose()
    (console.settings.data_dir.parent / "audit.db").unlink()
    response = client.get("/api/decisions")
    assert response.status_code in (401, 500)
    assert "Traceback" not in response.text and "sqlite" not in response.text.casefold()
    assert response.headers["x-content-type-options"] == "nosniff"


def test_every_link_the_pages_offer_is_accepted(console: Console) -> None:
    """The other side of refusing unknown parameters: no page links to a URL it refuses
    (a decision under no agreement is in the Activity tables as "(no agreement)")."""
    no_agreement = decision("n1", "e50", "liverpool-mash", "withheld", "2026-11-07T09:00:00+00:00")
    console.app_state.store.write_decisions(
        [dataclasses.replace(no_agreement, agreement_id=None, source_offset=50)]
    )
    client = login(console.client(), "officer")
    seen: set[str] = set()
    todo = ["/activity?from=2026-11-01&to=2026-11-30", "/decisions", "/alerts", "/agreements"]
    while todo and len(seen) < 150:
        url = todo.pop()
        if url in seen:
            continue
        seen.add(url)
        response = client.get(url, follow_redirects=False)
        assert response.status_code in (200, 303), (url, response.status_code)
        if "text/html" in response.headers.get("content-type", ""):
            for href in re.findall(r'href="(/[^"#]*)"', response.text):
                link = href.replace("&amp;", "&")
                if "?" in link and link not in seen:
                    todo.append(link)
    assert len(seen) > 10
