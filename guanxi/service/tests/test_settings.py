"""Service settings pages: administrators configure categories, assignment rules, SLA policies, business
calendars and their dated days; everyone else is turned away and nothing changes."""

import threading
from datetime import date

import pytest
from django.db import connection, connections
from django.test import Client
from django.urls import reverse

from guanxi.core.choices import AuditAction
from guanxi.core.models import AuditEvent, Team
from guanxi.service import ticket_services as svc
from guanxi.service.models import (
    BusinessCalendar,
    CalendarDay,
    SlaPolicy,
    TicketAssignmentRule,
    TicketCategory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(client_for, users):
    return client_for("admin")


@pytest.fixture
def admin_en(client_for, users):
    users["admin"].language = "en"
    users["admin"].save(update_fields=["language"])
    return client_for("admin")


def audits(record_type):
    return AuditEvent.objects.filter(action=AuditAction.SETTINGS_CHANGE, record_type=record_type)


def cal_post(**over):
    data = {"name": "Hong Kong office", "timezone": "Asia/Hong_Kong", "working_days": ["0", "1", "2", "3", "4"],
            "periods": "09:00-12:30, 14:00-18:00"}
    data.update(over)
    return data


# -- the index and access ----------------------------------------------------------------------------


def test_index_links_everything_with_counts(admin_en):
    r = admin_en.get("/service/settings/")
    assert r.status_code == 200 and reverse("service:settings") == "/service/settings/"
    html = r.content.decode()
    for name in ("ticket_category_list", "ticket_rule_list", "sla_policy_list", "calendar_list"):
        assert reverse(f"service:{name}") in html
    active = TicketCategory.objects.filter(is_active=True).count()
    assert f"{active} active categories of {TicketCategory.objects.count()}" in html
    assert "Mainland China working days" in html


def test_pages_in_chinese(admin):
    # Demo users work in Chinese; the new strings are translated by the lead later, the shared ones already are.
    html = admin.get("/service/settings/").content.decode()
    assert 'lang="zh-CN"' in html and "默认" in html
    html = admin.get("/service/settings/categories/add/").content.decode()
    assert "名称" in html and "保存" in html and "取消" in html


PAGES = ["/service/settings/", "/service/settings/categories/", "/service/settings/categories/add/",
         "/service/settings/assignment/", "/service/settings/sla/", "/service/settings/calendars/"]


@pytest.mark.parametrize("username", ["agent", "supervisor", "rep1"])
def test_non_admins_are_turned_away(client_for, users, username):
    c = client_for(username)
    for url in PAGES:
        assert c.get(url).status_code in (403, 404), url
    cat = TicketCategory.objects.first()
    calendar = BusinessCalendar.objects.get(is_default=True)
    day = calendar.days.first()
    before = (TicketCategory.objects.count(), CalendarDay.objects.count(), audits("service.ticketcategory").count())
    posts = [
        ("/service/settings/categories/add/", {"name": "Hacked", "position": 0, "is_active": "on"}),
        (f"/service/settings/categories/{cat.pk}/", {"name": "Hacked", "position": 0}),
        (f"/service/settings/categories/{cat.pk}/delete/", {}),
        (f"/service/settings/categories/{cat.pk}/deactivate/", {}),
        (f"/service/settings/calendars/{calendar.pk}/days/paste/", {"lines": "2030-01-01 holiday x"}),
        (f"/service/settings/calendars/{calendar.pk}/days/{day.pk}/delete/", {}),
    ]
    for url, data in posts:
        assert c.post(url, data).status_code in (403, 404), url
    assert (TicketCategory.objects.count(), CalendarDay.objects.count(),
            audits("service.ticketcategory").count()) == before
    cat.refresh_from_db()
    assert cat.name != "Hacked" and cat.is_active


def test_anonymous_is_sent_to_sign_in(client):
    r = client.get("/service/settings/")
    assert r.status_code == 302 and "login" in r["Location"]


# -- categories ----------------------------------------------------------------------------------------


def test_category_crud_with_audit(admin_en):
    quality = TicketCategory.objects.get(name="Product quality")
    r = admin_en.post("/service/settings/categories/add/",
                      {"name": "Smell", "parent": quality.pk, "position": 5, "is_active": "on"})
    assert r.status_code == 302
    smell = TicketCategory.objects.get(name="Smell")
    assert smell.parent == quality
    row = audits("service.ticketcategory").get(record_id=smell.pk)
    assert row.data["event"] == "create" and row.data["changes"]["name"] == [None, "Smell"]

    listing = admin_en.get("/service/settings/categories/").content.decode()
    assert "Product quality › Smell" in listing

    r = admin_en.post(f"/service/settings/categories/{smell.pk}/",
                      {"name": "Bad smell", "parent": quality.pk, "position": 5})
    assert r.status_code == 302
    smell.refresh_from_db()
    assert smell.name == "Bad smell" and not smell.is_active
    row = audits("service.ticketcategory").filter(record_id=smell.pk).latest("id")
    assert row.data["changes"] == {"name": ["Smell", "Bad smell"], "is_active": [True, False]}

    assert admin_en.get(f"/service/settings/categories/{smell.pk}/delete/").status_code == 200
    assert TicketCategory.objects.filter(pk=smell.pk).exists()  # GET only asks
    assert admin_en.post(f"/service/settings/categories/{smell.pk}/delete/").status_code == 302
    assert not TicketCategory.objects.filter(pk=smell.pk).exists()
    assert audits("service.ticketcategory").filter(record_id=smell.pk, data__event="delete").exists()


def test_category_cycle_is_rejected(admin_en):
    quality = TicketCategory.objects.get(name="Product quality")
    child = TicketCategory.objects.get(name="Packaging damaged")
    n = audits("service.ticketcategory").count()
    r = admin_en.post(f"/service/settings/categories/{quality.pk}/",
                      {"name": "Product quality", "parent": child.pk, "position": 0, "is_active": "on"})
    assert r.status_code == 422
    quality.refresh_from_db()
    assert quality.parent is None and audits("service.ticketcategory").count() == n
    r = admin_en.post(f"/service/settings/categories/{quality.pk}/",
                      {"name": "Product quality", "parent": quality.pk, "position": 0, "is_active": "on"})
    assert r.status_code == 422
    # The model refuses it too (API, shell).
    quality.parent = child
    with pytest.raises(Exception, match="under itself"):
        quality.full_clean()


@pytest.mark.parametrize("name", ["bad\x00name", "x" * 101, "  ", "Product quality"])
def test_category_bad_names(admin_en, name):
    n = TicketCategory.objects.count()
    r = admin_en.post("/service/settings/categories/add/", {"name": name, "position": 0, "is_active": "on"})
    assert r.status_code == 422
    assert TicketCategory.objects.count() == n


def test_category_in_use_cannot_be_deleted_but_deactivated(admin_en, users):
    other = TicketCategory.objects.get(name="Other")
    svc.ticket_create(actor=users["agent"], fields={"subject": "Hi", "category": other, "customer_name": "W"})
    r = admin_en.get(f"/service/settings/categories/{other.pk}/delete/")
    html = r.content.decode()
    assert "cannot be deleted" in html and "1 ticket" in html
    assert reverse("service:ticket_category_deactivate", args=[other.pk]) in html
    r = admin_en.post(f"/service/settings/categories/{other.pk}/delete/")
    assert r.status_code == 409 and TicketCategory.objects.filter(pk=other.pk).exists()
    assert not audits("service.ticketcategory").filter(record_id=other.pk).exists()
    assert admin_en.get(f"/service/settings/categories/{other.pk}/deactivate/").status_code == 405
    assert admin_en.post(f"/service/settings/categories/{other.pk}/deactivate/").status_code == 302
    other.refresh_from_db()
    assert not other.is_active
    assert audits("service.ticketcategory").get(record_id=other.pk).data["event"] == "deactivate"


def test_category_with_subcategories_cannot_be_deleted_in_chinese(admin):
    quality = TicketCategory.objects.get(name="Product quality")
    r = admin.post(f"/service/settings/categories/{quality.pk}/delete/")
    assert r.status_code == 409 and TicketCategory.objects.filter(pk=quality.pk).exists()
    assert "Packaging damaged" not in r.content.decode()  # counted, not listed
    assert reverse("service:ticket_category_deactivate", args=[quality.pk]) in r.content.decode()


# -- assignment rules ----------------------------------------------------------------------------------


def test_assignment_rule_crud_and_receivers(admin_en, users):
    team = Team.objects.get(pk=users["agent"].team_id)
    quality = TicketCategory.objects.get(name="Product quality")
    r = admin_en.post("/service/settings/assignment/add/", {
        "name": "Quality south", "category": quality.pk, "priority": "high", "provinces": "广东，广西 , ",
        "team": team.pk, "method": "least_loaded", "is_active": "on", "position": 1})
    assert r.status_code == 302, r.content.decode()[:2000]
    rule = TicketAssignmentRule.objects.get(name="Quality south")
    assert rule.provinces == "广东, 广西" and rule.method == "least_loaded"
    assert audits("service.ticketassignmentrule").filter(record_id=rule.pk, data__event="create").exists()
    html = admin_en.get("/service/settings/assignment/").content.decode()
    assert str(users["agent"]) in html and str(users["agent2"]) in html
    assert "Least open tickets in the team" in html

    r = admin_en.post(f"/service/settings/assignment/{rule.pk}/", {
        "name": "Quality south", "category": "", "priority": "", "provinces": "", "team": team.pk,
        "method": "round_robin", "position": 1})
    assert r.status_code == 302
    rule.refresh_from_db()
    assert rule.category is None and rule.method == "round_robin" and not rule.is_active
    assert admin_en.post(f"/service/settings/assignment/{rule.pk}/delete/").status_code == 302
    assert not TicketAssignmentRule.objects.filter(pk=rule.pk).exists()


def test_assignment_rule_needs_a_team(admin_en):
    r = admin_en.post("/service/settings/assignment/add/", {"name": "x", "method": "round_robin", "position": 0})
    assert r.status_code == 422 and not TicketAssignmentRule.objects.filter(name="x").exists()


# -- SLA policies --------------------------------------------------------------------------------------


def test_sla_policy_crud_shows_hours(admin_en):
    billing = TicketCategory.objects.get(name="Billing")
    r = admin_en.post("/service/settings/sla/add/", {
        "name": "Billing urgent", "priority": "urgent", "category": billing.pk, "first_response_minutes": 90,
        "resolution_minutes": 480, "warn_before_minutes": 30, "calendar": "", "is_active": "on", "position": 0})
    assert r.status_code == 302
    policy = SlaPolicy.objects.get(name="Billing urgent")
    assert policy.category == billing and policy.calendar is None
    html = admin_en.get("/service/settings/sla/").content.decode()
    assert "90 min (1.5 h)" in html and "480 min (8 h)" in html
    form = admin_en.get(f"/service/settings/sla/{policy.pk}/").content.decode()
    assert "= 1.5 business hours" in form
    row = audits("service.slapolicy").get(record_id=policy.pk)
    assert row.data["changes"]["priority"] == [None, "urgent"]
    assert admin_en.post(f"/service/settings/sla/{policy.pk}/delete/").status_code == 302
    assert not SlaPolicy.objects.filter(pk=policy.pk).exists()


@pytest.mark.parametrize("over", [{"first_response_minutes": 0}, {"resolution_minutes": 10},
                                  {"first_response_minutes": "abc"}, {"warn_before_minutes": 10**9}])
def test_sla_policy_bad_numbers(admin_en, over):
    data = {"name": "P", "priority": "", "category": "", "first_response_minutes": 60, "resolution_minutes": 120,
            "warn_before_minutes": 10, "calendar": "", "position": 0, **over}
    n = SlaPolicy.objects.count()
    assert admin_en.post("/service/settings/sla/add/", data).status_code == 422
    assert SlaPolicy.objects.count() == n


# -- business calendars --------------------------------------------------------------------------------


def test_calendar_create_parses_periods(admin_en):
    r = admin_en.post("/service/settings/calendars/add/", cal_post(working_days=["5", "0", "1"]))
    assert r.status_code == 302
    cal = BusinessCalendar.objects.get(name="Hong Kong office")
    assert cal.periods == [["09:00", "12:30"], ["14:00", "18:00"]] and cal.working_days == [0, 1, 5]
    assert not cal.is_default  # the China calendar stays the default
    assert audits("service.businesscalendar").filter(record_id=cal.pk, data__event="create").exists()
    html = admin_en.get(f"/service/settings/calendars/{cal.pk}/").content.decode()
    assert "09:00-12:30, 14:00-18:00" in html and "Saturday" in html


@pytest.mark.parametrize("over, field", [
    ({"periods": "09:00-12:00, 11:00-18:00"}, "overlap"),
    ({"periods": "18:00-09:00"}, "start before"),
    ({"periods": "9h to 5h"}, "not a period"),
    ({"periods": "25:00-26:00"}, "not a period"),
    ({"periods": ""}, ""),
    ({"timezone": "Mars/Olympus"}, "Unknown time zone"),
    ({"timezone": "../../etc/passwd"}, "Unknown time zone"),
    ({"timezone": "Asia/Shang\x00hai"}, ""),
    ({"working_days": ["7"]}, ""),
    ({"working_days": []}, ""),
    ({"name": "x" * 101}, ""),
    ({"name": "a\x00b"}, ""),
])
def test_calendar_bad_input_saves_nothing(admin_en, over, field):
    n, audit_n = BusinessCalendar.objects.count(), audits("service.businesscalendar").count()
    r = admin_en.post("/service/settings/calendars/add/", cal_post(**over))
    assert r.status_code == 422
    assert field in r.content.decode()
    assert BusinessCalendar.objects.count() == n and audits("service.businesscalendar").count() == audit_n


def test_exactly_one_default_calendar(admin_en):
    china = BusinessCalendar.objects.get(is_default=True)
    # The only default cannot stop being the default…
    data = cal_post(name=china.name, timezone=china.timezone, periods="09:00-12:00, 13:00-18:00")
    r = admin_en.post(f"/service/settings/calendars/{china.pk}/", data)
    assert r.status_code == 422 and "must be the default" in r.content.decode()
    china.refresh_from_db()
    assert china.is_default
    # …nor be deleted while it is the default.
    r = admin_en.post(f"/service/settings/calendars/{china.pk}/delete/")
    assert r.status_code == 409 and BusinessCalendar.objects.filter(pk=china.pk).exists()
    # A new default takes over.
    assert admin_en.post("/service/settings/calendars/add/", cal_post(is_default="on")).status_code == 302
    hk = BusinessCalendar.objects.get(name="Hong Kong office")
    china.refresh_from_db()
    assert hk.is_default and not china.is_default
    assert BusinessCalendar.objects.filter(is_default=True).count() == 1
    assert audits("service.businesscalendar").filter(record_id=china.pk, data__event="update").exists()
    # Now the old one can go, with its days and without its policies (they fall back to the default).
    r = admin_en.get(f"/service/settings/calendars/{china.pk}/delete/")
    assert "calendar day" in r.content.decode()
    assert admin_en.post(f"/service/settings/calendars/{china.pk}/delete/").status_code == 302
    assert not CalendarDay.objects.filter(calendar_id=china.pk).exists()


def test_model_clean_checks_calendar():
    cal = BusinessCalendar(name="X", timezone="Nowhere/City", periods=[["10:00", "09:00"]], working_days=[9])
    with pytest.raises(Exception) as e:
        cal.full_clean()
    assert set(e.value.message_dict) >= {"timezone", "periods", "working_days"}


# -- dated days ------------------------------------------------------------------------------------------


def test_days_list_per_year_and_crud(admin_en):
    cal = BusinessCalendar.objects.get(is_default=True)
    html = admin_en.get(f"/service/settings/calendars/{cal.pk}/days/?year=2026").content.decode()
    assert "2026-10-01" in html and "2025-10-01" not in html
    assert admin_en.get(f"/service/settings/calendars/{cal.pk}/days/?year=abc").status_code == 200

    r = admin_en.post(f"/service/settings/calendars/{cal.pk}/days/add/",
                      {"date": "2027-01-01", "kind": "holiday", "name": "New Year"})
    assert r.status_code == 302 and "year=2027" in r["Location"]
    day = cal.days.get(date=date(2027, 1, 1))
    assert audits("service.calendarday").filter(record_id=day.pk, data__event="create").exists()
    for bad in ("1999-12-31", "2027-02-30", "not a date", ""):
        r = admin_en.post(f"/service/settings/calendars/{cal.pk}/days/add/", {"date": bad, "kind": "holiday"})
        assert r.status_code == 422, bad
    r = admin_en.post(f"/service/settings/calendars/{cal.pk}/days/add/", {"date": "2027-01-02", "kind": "nope"})
    assert r.status_code == 422 and not cal.days.filter(date=date(2027, 1, 2)).exists()
    # Same date twice: refused.
    r = admin_en.post(f"/service/settings/calendars/{cal.pk}/days/add/",
                      {"date": "2027-01-01", "kind": "workday", "name": ""})
    assert r.status_code == 422 and cal.days.filter(date=date(2027, 1, 1)).count() == 1
    r = admin_en.post(f"/service/settings/calendars/{cal.pk}/days/{day.pk}/",
                      {"date": "2027-01-01", "kind": "workday", "name": "Make-up"})
    assert r.status_code == 302
    day.refresh_from_db()
    assert day.kind == "workday"
    assert admin_en.get(f"/service/settings/calendars/{cal.pk}/days/{day.pk}/delete/").status_code == 200
    assert admin_en.post(f"/service/settings/calendars/{cal.pk}/days/{day.pk}/delete/").status_code == 302
    assert not cal.days.filter(date=date(2027, 1, 1)).exists()


def test_day_of_another_calendar_is_404(admin_en):
    cal = BusinessCalendar.objects.get(is_default=True)
    other = BusinessCalendar.objects.create(name="Other", is_default=False)
    day = cal.days.first()
    assert admin_en.get(f"/service/settings/calendars/{other.pk}/days/{day.pk}/").status_code == 404
    assert admin_en.post(f"/service/settings/calendars/{other.pk}/days/{day.pk}/delete/").status_code == 404
    assert CalendarDay.objects.filter(pk=day.pk).exists()


def test_paste_days(admin_en):
    cal = BusinessCalendar.objects.get(is_default=True)
    existing = cal.days.get(date=date(2026, 10, 1))
    lines = "\n".join(["# 2027", "2027-01-01 holiday 元旦", "", "2027-02-07 workday 春节调休",
                       "2027-02-10 休", f"{existing.date.isoformat()} workday changed"])
    r = admin_en.post(f"/service/settings/calendars/{cal.pk}/days/paste/", {"lines": lines})
    assert r.status_code == 302
    assert cal.days.get(date=date(2027, 1, 1)).name == "元旦"
    assert cal.days.get(date=date(2027, 2, 7)).kind == "workday"
    assert cal.days.get(date=date(2027, 2, 10)).kind == "holiday"
    existing.refresh_from_db()
    assert existing.kind == "workday" and existing.name == "changed"
    row = audits("service.businesscalendar").get(record_id=cal.pk, data__event="days_import")
    assert row.data["created"] == 3 and row.data["updated"] == 1


@pytest.mark.parametrize("bad, message", [
    ("2027-13-01 holiday x", "Line 2: “2027-13-01” is not a date"),
    ("2027-01-05 vacation x", "Line 2: “vacation” is neither holiday nor workday"),
    ("2027-01-05", "Line 2: expected a date"),
    ("2027-01-01 workday again", "Line 2: 2027-01-01 appears more than once"),
    ("2027-01-05 holiday " + "x" * 101, "Line 2: the name is longer than 100 characters"),
    ("1900-01-05 holiday x", "Line 2: 1900-01-05 is out of range"),
    ("2027-01-05 holiday a\x00b", "Null characters"),
])
def test_paste_bad_line_saves_nothing(admin_en, bad, message):
    cal = BusinessCalendar.objects.get(is_default=True)
    n, audit_n = CalendarDay.objects.count(), AuditEvent.objects.count()
    r = admin_en.post(f"/service/settings/calendars/{cal.pk}/days/paste/",
                      {"lines": f"2027-01-01 holiday 元旦\n{bad}\n2027-01-03 holiday ok"})
    assert r.status_code == 422
    assert message in r.content.decode().replace("&quot;", '"')
    assert CalendarDay.objects.count() == n and AuditEvent.objects.count() == audit_n


def test_paste_many_bad_lines_are_summarised(admin_en):
    cal = BusinessCalendar.objects.get(is_default=True)
    r = admin_en.post(f"/service/settings/calendars/{cal.pk}/days/paste/", {"lines": "bad\n" * 25})
    assert r.status_code == 422
    html = r.content.decode()
    assert "Line 20:" in html and "Line 21:" not in html and "and 5 more lines with errors" in html


def test_paste_errors_in_chinese(admin):
    cal = BusinessCalendar.objects.get(is_default=True)
    r = admin.post(f"/service/settings/calendars/{cal.pk}/days/paste/", {"lines": "2027-99-01 holiday"})
    assert r.status_code == 422
    html = r.content.decode()
    assert "2027-99-01" in html and "csrfmiddlewaretoken" in html


def test_delete_needs_post(admin_en):
    policy = SlaPolicy.objects.first()
    r = admin_en.get(f"/service/settings/sla/{policy.pk}/delete/")
    assert r.status_code == 200 and "Delete “" in r.content.decode()
    assert SlaPolicy.objects.filter(pk=policy.pk).exists()
    assert admin_en.put(f"/service/settings/sla/{policy.pk}/delete/").status_code == 405


def test_categories_in_tree_order(admin_en):
    html = admin_en.get("/service/settings/categories/").content.decode()
    order = ["Product quality</a>", "Product quality › Defect or malfunction", "Product quality › Packaging damaged",
             "Service attitude</a>", "Delivery</a>", "Delivery › Late delivery"]
    positions = [html.index(s) for s in order]
    assert positions == sorted(positions)
    form = admin_en.get("/service/settings/sla/add/").content.decode()
    assert form.index("Billing › Invoice") > form.index(">Billing<") > form.index("Delivery › Wrong item")
    cells = admin_en.get("/service/settings/categories/").context["rows"][0]["cells"]
    assert cells[1]["value"] == 0  # ticket count shown as 0, not as missing


@pytest.mark.skipif(connection.vendor != "postgresql",
                    reason="needs PostgreSQL: SQLite has a single writer, so the requests cannot overlap")
@pytest.mark.django_db(transaction=True)
def test_concurrent_default_changes_leave_one_default(users):
    """Four administrators make four different calendars the default at the same moment."""
    calendars = [BusinessCalendar.objects.create(name=f"C{i}") for i in range(4)]
    barrier, errors, statuses = threading.Barrier(4), [], []

    def work(cal):
        try:
            c = Client()
            c.force_login(users["admin"])
            barrier.wait()
            r = c.post(f"/service/settings/calendars/{cal.pk}/", cal_post(name=cal.name, is_default="on"))
            statuses.append(r.status_code)
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=(cal,)) for cal in calendars]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors and statuses == [302] * 4
    assert BusinessCalendar.objects.filter(is_default=True).count() == 1
