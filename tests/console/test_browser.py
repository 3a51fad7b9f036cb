"""The console in headless Chromium after a real run of the pipeline: embedded broker and
registry, signed synthetic events from the police and a youth justice service (one synthetic
child appears in several events of both), the processor and the audit ingester. An IG
officer logs in and finds an event's decisions, produces a subject disclosure report, runs a
what-if on a draft agreement, and downloads a CSV. Screenshots go to a temp folder
(``HUB_CONSOLE_SCREENSHOTS`` keeps them somewhere else)."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine

from connectors.base.mapping import coerce_event
from connectors.base.publisher import PartnerPublisher
from connectors.base.retraction import RETRACTION, retraction_of
from connectors.synthetic.police import PoliceFeed
from connectors.synthetic.samples import sample_events
from hub.audit import AuditStore
from hub.broker import EmbeddedBroker, ensure_topics
from hub.catalogue import AUDIT_TOPIC, DEADLETTER_TOPIC, Catalogue, EventType, partner_topic
from hub.catalogue.schemas import load_catalogue
from hub.catalogue.topics import EVENTS_TOPIC
from hub.config import Settings
from hub.console import ConsoleHandle, create_demo_officer, start_console
from hub.console.auth import Role, add_user, random_password
from hub.processor.build import build_ingester, build_processor, partner_keys
from hub.registry import RegistryServer, SchemaStore
from tests.console.conftest import write_draft

pytestmark = pytest.mark.integration

playwright_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ROOT = Path(__file__).resolve().parents[2]
# axe-core from npm (tests/node, `make node-deps`): WCAG 2.2 A/AA rules, run in the page.
AXE = ROOT / "tests" / "node" / "node_modules" / "axe-core" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
CHILD = {"given": "Kayden", "family": "Whitfield-Osei", "dob": date(2012, 6, 9)}
# A Knowsley child in a police concern: shared with the Knowsley MASH, withheld from the
# Liverpool MASH. Liverpool City Council's partner admin must not find it (issue 15 item 4).
KNOWSLEY_CHILD = {"given": "Amara", "family": "Quinlan-Hart", "dob": date(2013, 1, 15)}


def _set_person(
    event: dict[str, Any], person_path: str, person_children: Any, child: Any = None
) -> None:
    child = child or CHILD
    record = event
    for part in person_path.split("."):
        record = record[part]
    names = [c for c in person_children if "identity" in c.tags and "name" in c.tags]
    for field, value in zip(names, (child["given"], child["family"]), strict=False):
        record[field.name] = value
    for c in person_children:
        if "dob" in c.tags:
            record[c.name] = child["dob"]


def _publisher(
    settings: Settings, bootstrap: str, registry_url: str, partner: str, event_type: EventType
) -> PartnerPublisher:
    """``partner``'s publisher of ``event_type``, signing with the partner's development key
    (the one the hub's key store trusts for it)."""
    signer = partner_keys(settings).dev_signing_key(partner)
    return PartnerPublisher(
        partner=partner,
        event_type=event_type,
        bootstrap=bootstrap,
        registry_url=registry_url,
        signer=signer,
    )


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = os.environ.get("HUB_CONSOLE_SCREENSHOTS")
    path = Path(folder) if folder else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="module")
def pipeline(
    tmp_path_factory: pytest.TempPathFactory, catalogue: Catalogue
) -> Iterator[dict[str, Any]]:
    work = tmp_path_factory.mktemp("console-e2e")
    shutil.copytree(ROOT / "partnership", work / "partnership")
    settings = Settings(data_dir=work / "data", partnership_dir=work / "partnership")
    concern = catalogue.event_types["safeguarding-concern"]
    youth = catalogue.event_types["youth-justice-outcome"]
    with EmbeddedBroker() as broker, RegistryServer(SchemaStore("sqlite://")) as registry:
        police_topic = partner_topic("merseyside-police", concern.slug)
        yjs_topic = partner_topic("yjs-liverpool", youth.slug)
        retraction_topic = partner_topic("merseyside-police", RETRACTION)
        ensure_topics(
            broker.bootstrap,
            [
                police_topic,
                yjs_topic,
                retraction_topic,
                DEADLETTER_TOPIC,
                AUDIT_TOPIC,
                EVENTS_TOPIC,
            ],
        )
        police = _publisher(settings, broker.bootstrap, registry.url, "merseyside-police", concern)
        yjs = _publisher(settings, broker.bootstrap, registry.url, "yjs-liverpool", youth)
        events = PoliceFeed(seed=31).events(150)
        [person] = concern.person_records()
        # The child in three police concerns (one about exploitation) ...
        for i, category in ((10, "CCE"), (60, "NEGLECT"), (110, "MISSING")):
            _set_person(events[i], person.path, person.children)
            events[i].update(borough="LIVERPOOL", risk_level="HIGH", concern_category=category)
        _set_person(events[20], person.path, person.children, KNOWSLEY_CHILD)
        events[20].update(borough="KNOWSLEY", risk_level="HIGH", concern_category="NEGLECT")
        for e in events:
            police.publish(e)
        # ... and in two youth justice outcomes.
        outcomes = sample_events(youth, "yjs-liverpool", 6, seed=4)
        [youth_person] = youth.person_records()
        for o in outcomes[:2]:
            _set_person(o, youth_person.path, youth_person.children)
        for o in outcomes:
            o["yjs_borough"] = "LIVERPOOL"
            yjs.publish(o)
        police.close()
        yjs.close()
        sent = len(events) + len(outcomes)

        store_url = f"sqlite:///{work / 'audit.db'}"
        audit = AuditStore(store_url)
        processor = build_processor(settings, bootstrap=broker.bootstrap, registry_url=registry.url)
        processor.run(threading.Event(), until=lambda s: s.consumed >= sent)
        processor.close()
        build_ingester(settings, bootstrap=broker.bootstrap, store=audit).run_until_idle(1.0)
        retracted = _retract_one(settings, broker.bootstrap, registry.url, audit, events)
        audit.close()

        draft = write_draft(settings.partnership_dir)  # after the run: drafts never share
        name, password = create_demo_officer(store_url)
        admin_password = random_password()
        engine = create_engine(store_url)
        add_user(engine, "liverpool-admin", Role.PARTNER_ADMIN, admin_password, "liverpool-cc")
        engine.dispose()
        console: ConsoleHandle = start_console(
            settings, store_url, bootstrap=broker.bootstrap, registry_url=registry.url
        )
        try:
            yield {
                "url": console.url,
                "user": name,
                "password": password,
                "event_id": events[10]["envelope"]["event_id"],
                "knowsley_event_id": events[20]["envelope"]["event_id"],
                "admin_password": admin_password,
                "draft": draft,
                "today": datetime.now(UTC).date().isoformat(),
                "retracted": retracted,
            }
        finally:
            console.stop()


def _retract_one(
    settings: Settings, bootstrap: str, registry_url: str, audit: AuditStore, events: list[Any]
) -> dict[str, Any]:
    """The police withdraw one concern shared with the Liverpool MASH (not the children the
    other tests follow) as about the wrong person: the processor sends a retraction notice
    to each recipient it reached. No sink runs here, so none is receipted."""
    followed = {events[i]["envelope"]["event_id"] for i in (10, 20, 60, 110)}
    shared = [
        d
        for d in audit.all_decisions()
        if d["outcome"] == "shared" and d["provider"] == "merseyside-police"
    ]
    target = next(
        d["event_id"]
        for d in shared
        if d["recipient"] == "liverpool-mash" and d["event_id"] not in followed
    )
    event_type = load_catalogue(settings.schemas_dir).get(RETRACTION)
    assert event_type is not None
    publisher = _publisher(settings, bootstrap, registry_url, "merseyside-police", event_type)
    data = retraction_of("merseyside-police", target, "WRONG_PERSON")
    publisher.publish(coerce_event(event_type, data, "merseyside-police"))
    publisher.close()
    processor = build_processor(settings, bootstrap=bootstrap, registry_url=registry_url)
    processor.run(threading.Event(), until=lambda s: s.consumed >= 1)
    processor.close()
    build_ingester(settings, bootstrap=bootstrap, store=audit).run_until_idle(1.0)
    return {
        "event_id": target,
        "recipients": sorted({d["recipient"] for d in shared if d["event_id"] == target}),
    }


@pytest.fixture(scope="module")
def page(pipeline: dict[str, Any]) -> Iterator[Any]:
    with playwright_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        # bypass_csp: only so the test can inject axe-core; the console's CSP stays strict.
        context = browser.new_context(
            viewport={"width": 1440, "height": 900}, accept_downloads=True, bypass_csp=True
        )
        tab = context.new_page()
        tab.set_default_timeout(30_000)
        tab.goto(pipeline["url"] + "/activity")
        assert "/login" in tab.url  # not signed in: sent to the login page
        accessible(tab)
        tab.fill("input[name=username]", pipeline["user"])
        tab.fill("input[name=password]", pipeline["password"])
        tab.click("button[type=submit]")
        tab.wait_for_url("**/activity")
        yield tab
        context.close()
        browser.close()


def accessible(page: Any) -> None:
    """No serious or critical WCAG 2.2 A/AA violation on the page, by axe-core."""
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run `make node-deps`")
    page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", AXE_TAGS
    )
    bad = [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes'][:3]]}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert not bad, f"{page.url}: {bad}"


def checked(page: Any, shot: Path) -> None:
    """The page as its reader meets it: ``accessible``, and a screenshot saved to ``shot``."""
    accessible(page)
    page.screenshot(path=str(shot), full_page=True)


def test_activity_overview(page: Any, pipeline: dict[str, Any], shots: Path) -> None:
    page.goto(pipeline["url"] + "/activity")
    assert page.locator("svg.chart").count() >= 1
    assert "liverpool-mash" in page.content()
    checked(page, shots / "activity.png")


def test_find_an_events_decisions(page: Any, pipeline: dict[str, Any], shots: Path) -> None:
    page.goto(pipeline["url"] + "/decisions")
    page.fill("input[name=event_id]", pipeline["event_id"])
    page.click("text=Search")
    rows = page.locator("table tr:has(td)")
    recipients = {rows.nth(i).locator("td").nth(4).inner_text() for i in range(rows.count())}
    assert recipients == {
        "Liverpool Multi-Agency Safeguarding Hub",
        "Knowsley Multi-Agency Safeguarding Hub",
        "Merseyside Modern Slavery Network",
    }
    # Reasons in words: the Knowsley MASH's "not shared" says why in English, not CEL.
    knowsley = rows.filter(has_text="Knowsley Multi-Agency").inner_text()
    assert "shares only when" in knowsley and "has(" not in knowsley
    checked(page, shots / "decisions.png")
    page.click(f"tr:has-text('Liverpool Multi-Agency') >> text={pipeline['event_id']}")
    text = page.inner_text("main")
    assert "shared" in text and "Merseyside Police to Liverpool MASH" in text
    assert "(version 1)" in text and "Happened" in text
    assert "subject.given_name" in text and "Children Act 2004" in text
    checked(page, shots / "decision.png")


def test_subject_disclosure_report(page: Any, pipeline: dict[str, Any], shots: Path) -> None:
    page.goto(pipeline["url"] + "/subjects")
    page.fill("input[name=given_name]", CHILD["given"].upper())  # normalised like partners'
    page.fill("input[name=family_name]", CHILD["family"])
    page.fill("input[name=date_of_birth]", CHILD["dob"].isoformat())
    page.click("text=Find disclosures")
    report = page.inner_text("main")
    # Three police concerns to the Liverpool MASH, one to the Modern Slavery Network, and
    # two youth justice outcomes to the Liverpool MASH.
    assert "6 disclosure(s)" in report, report
    assert "Merseyside Police" in report and "Youth Justice" in report
    assert "Merseyside Modern Slavery Network" in report
    checked(page, shots / "subject-report.png")
    with page.expect_download() as download:
        page.click("text=Download CSV")
    saved = Path(str(download.value.path()))
    lines = saved.read_text().splitlines()
    assert lines[0].startswith("occurred_at,decided_at,provider,recipient") and len(lines) == 7
    # A name alone: the people of that name by age band and area, then the one picked.
    page.goto(pipeline["url"] + "/subjects")
    page.fill("input[name=given_name]", CHILD["given"])
    page.fill("input[name=family_name]", CHILD["family"])
    page.click("text=Find disclosures")
    candidates = page.inner_text("#candidates")
    assert "aged 10 to 17" in candidates and "Liverpool" in candidates, candidates
    checked(page, shots / "subject-candidates.png")
    page.locator("#candidates button").first.click()
    assert "disclosure(s)" in page.inner_text("main")


def test_whatif_on_a_draft(page: Any, pipeline: dict[str, Any], shots: Path) -> None:
    # By event time: the synthetic events happened in early November, and were published
    # and decided today. The default period (30 days up to the newest decision) may not
    # reach them: then the page says so and links to where they are.
    page.goto(pipeline["url"] + "/whatif?agreement=" + pipeline["draft"])
    page.wait_for_selector("#empty, .stats")
    if page.locator("#empty").count():
        assert "No events happened in this period" in page.inner_text("#empty")
        assert "would share exactly as recorded" not in page.inner_text("main")
        checked(page, shots / "whatif-empty.png")
        page.click("text=replay that period")
        page.wait_for_selector(".stats")
    text = page.inner_text("main")
    assert "would share differently" in text, text
    assert "With a recorded decision\n150" in text  # every police event of the run, read back
    assert "Merseyside Modern Slavery Network: would newly be shared" in text
    assert "borough" in text and "cannot be read back here" not in text
    checked(page, shots / "whatif.png")


def test_download_decisions_csv(page: Any, pipeline: dict[str, Any], shots: Path) -> None:
    page.goto(pipeline["url"] + "/decisions?recipient=modern-slavery-network&outcome=shared")
    with page.expect_download() as download:
        page.click("text=Download CSV")
    lines = Path(str(download.value.path())).read_text().splitlines()
    assert lines[0].startswith("decision_id,decided_at,event_id")
    assert len(lines) > 2 and all("modern-slavery-network" in line for line in lines[1:])
    page.goto(pipeline["url"] + "/agreements/police-msn")
    assert "The concern is about child criminal exploitation (CCE)" in page.inner_text("main")
    checked(page, shots / "agreement.png")
    page.goto(pipeline["url"] + "/agreements")
    checked(page, shots / "agreements.png")
    page.goto(pipeline["url"] + "/agreements/police-msn/v1/document")
    assert "5. When records are shared" in page.inner_text("main")
    checked(page, shots / "agreement-document.png")


def test_who_looked_up_this_person(page: Any, pipeline: dict[str, Any], shots: Path) -> None:
    page.goto(pipeline["url"] + "/consultations")
    page.fill("input[name=given_name]", CHILD["given"])
    page.fill("input[name=family_name]", CHILD["family"])
    page.fill("input[name=date_of_birth]", CHILD["dob"].isoformat())
    page.click("text=Search the access log")
    found = page.inner_text("#lookups")
    assert "subject report (looked the person up)" in found, found
    assert pipeline["user"] in found
    checked(page, shots / "access-log.png")
    page.goto(pipeline["url"] + "/alerts")
    checked(page, shots / "alerts.png")


def _sign_in(context: Any, url: str, user: str, password: str) -> Any:
    tab = context.new_page()
    tab.set_default_timeout(30_000)
    tab.goto(url + "/login")
    tab.fill("input[name=username]", user)
    tab.fill("input[name=password]", password)
    tab.click("button[type=submit]")
    tab.wait_for_url("**/activity")
    return tab


def _find_person(tab: Any, url: str, person: dict[str, Any]) -> str:
    tab.goto(url + "/subjects")
    tab.fill("input[name=given_name]", person["given"])
    tab.fill("input[name=family_name]", person["family"])
    tab.fill("input[name=date_of_birth]", person["dob"].isoformat())
    tab.check("input[name=include_withheld]")
    tab.click("text=Find disclosures")
    return str(tab.inner_text("main"))


def test_partner_admin_sees_no_record_withheld_from_their_recipient(
    page: Any, pipeline: dict[str, Any], shots: Path
) -> None:
    """As Liverpool City Council's partner admin: the Knowsley child's police concern,
    withheld from the Liverpool MASH, is not in the subject report (with "include withheld
    decisions"), not in the decision explorer, not by its event id; the activity page counts
    such decisions without listing them. The IG officer, in the same run, does see it."""
    url, event_id = pipeline["url"], pipeline["knowsley_event_id"]
    officer_view = _find_person(page, url, KNOWSLEY_CHILD)
    assert "Liverpool" in officer_view and "withheld" in officer_view  # it exists to be hidden
    assert "Knowsley" in officer_view
    browser = page.context.browser
    context = browser.new_context(viewport={"width": 1440, "height": 900}, bypass_csp=True)
    try:
        tab = _sign_in(context, url, "liverpool-admin", pipeline["admin_password"])
        report = _find_person(tab, url, KNOWSLEY_CHILD)
        assert (
            "0 disclosure(s) and 0 withheld decision(s), in flows of Liverpool City Council"
            in report
        )
        assert event_id[:13] not in tab.content()
        assert tab.locator("#withheld-scope").count() == 1
        checked(tab, shots / "partner-subject-report.png")
        tab.goto(f"{url}/decisions?event_id={event_id}")
        assert "No decision matches." in tab.inner_text("main")
        tab.goto(f"{url}/decisions?recipient=liverpool-mash&outcome=withheld")
        assert event_id not in tab.content()
        tab.goto(f"{url}/activity?from={pipeline['today']}&to={pipeline['today']}")
        card = tab.locator("#withheld-from-operated")
        assert card.count() == 1 and "merseyside police" in card.inner_text().casefold()
        assert event_id not in tab.content()
        checked(tab, shots / "partner-activity.png")
        # The pages a partner admin has: agreements their organisation is party to, their
        # documents, the access log is not theirs.
        tab.goto(f"{url}/agreements")
        assert "police-liverpool-mash" in tab.content() and "probation-iom" not in tab.content()
        accessible(tab)
        tab.goto(f"{url}/agreements/police-liverpool-mash/v1/document")
        assert "Liverpool City Council" in tab.inner_text("main")
        accessible(tab)
        assert tab.goto(f"{url}/consultations").status == 403
        # Bad input: the console's own error page, never raw JSON or a 500.
        response = tab.goto(f"{url}/decisions?page=abc")
        assert response is not None and response.status == 400
        assert "page" in tab.inner_text("#problems") and "{" not in tab.inner_text("main")[:1]
        accessible(tab)
    finally:
        context.close()


def test_the_pages_work_from_the_keyboard(page: Any, pipeline: dict[str, Any]) -> None:
    """Search decisions with the keyboard alone: tab to the event id, type, Enter."""
    page.goto(pipeline["url"] + "/decisions")
    for _ in range(30):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.name") == "event_id":
            break
    else:
        pytest.fail("the event id field cannot be reached with Tab")
    page.keyboard.type(pipeline["event_id"])
    page.keyboard.press("Enter")
    page.wait_for_url("**/decisions?*")
    assert "3 decisions" in page.inner_text("main")
    # Every link and button shows where the focus is.
    outline = page.evaluate(
        "() => { const a = document.querySelector('main a'); a.focus();"
        " const s = getComputedStyle(a); return s.outlineStyle + ' ' + s.outlineWidth; }"
    )
    assert not outline.startswith("none"), outline


def test_retraction_notices_not_yet_receipted(
    page: Any, pipeline: dict[str, Any], shots: Path
) -> None:
    """Issue 18: the IG officer finds the notices no recipient has receipted, opens one and
    reads the event's revision chain; a partner admin sees only their own recipient's."""
    url, retracted = pipeline["url"], pipeline["retracted"]
    page.goto(url + "/activity")
    page.click("#notices >> text=not yet receipted")
    page.wait_for_url("**/retractions")
    # Issued a moment ago: not yet past the 24 hours a recipient is given.
    assert "has been receipted" in page.inner_text("#unreceipted")
    page.fill("input[name=hours]", "0")
    page.click("text=Show")
    page.wait_for_url("**/retractions?hours=0")
    rows = page.locator("#unreceipted tr:has(td)")
    assert rows.count() == len(retracted["recipients"]) >= 1
    table = page.inner_text("#unreceipted")
    assert retracted["event_id"][:13] in table and "Liverpool" in table
    assert "WRONG_PERSON" in table and "none" in table
    checked(page, shots / "retractions.png")
    rows.filter(has_text="Liverpool").locator("a").first.click()
    assert page.inner_text("h1").startswith("Retraction notice")
    assert "No delivery receipt recorded yet" in page.inner_text("main")
    chain = page.inner_text("#revisions + p + table")
    assert chain.index("shared") < chain.index("retracted"), chain
    checked(page, shots / "retraction-notice.png")
    browser = page.context.browser
    context = browser.new_context(viewport={"width": 1440, "height": 900}, bypass_csp=True)
    try:
        tab = _sign_in(context, url, "liverpool-admin", pipeline["admin_password"])
        tab.goto(url + "/retractions?hours=0")
        mine = tab.locator("#unreceipted tr:has(td)")
        assert mine.count() >= 1
        assert all("Liverpool" in mine.nth(i).inner_text() for i in range(mine.count()))
        if len(retracted["recipients"]) > 1:  # the notices to others' recipients are not shown
            assert mine.count() < len(retracted["recipients"])
        accessible(tab)
    finally:
        context.close()
