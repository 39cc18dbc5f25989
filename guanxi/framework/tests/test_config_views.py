"""framework.config_views: the generic administrator pages of a configuration model, mounted here
without a namespace on a plain ModelForm (the service settings use them inside the "service" namespace)."""

from unittest import mock

import pytest
from django import forms
from django.urls import include, path, reverse

from guanxi.core.choices import AuditAction
from guanxi.core.models import AuditEvent
from guanxi.framework import config_views
from guanxi.framework.config_views import ConfigPages, deletion_effects, diff, snapshot
from guanxi.service import ticket_services as svc
from guanxi.service.models import CalendarDay, SlaPolicy, TicketCategory

pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]


class PlainCategoryForm(forms.ModelForm):
    class Meta:
        model = TicketCategory
        fields = ["name", "parent", "is_active", "position"]


class NoDeletingOther(ConfigPages):
    def delete_refusal(self, obj):
        return "Keep “Other”." if obj.name == "Other" else None


pages = NoDeletingOther(
    model=TicketCategory, form_class=PlainCategoryForm, name="cfg", prefix="cfg/", ordering=["-position", "id"],
    columns=[("name", "name"), ("active", "is_active")], record_type="tests.category",
)
day_pages = ConfigPages(model=CalendarDay, form_class=forms.modelform_factory(CalendarDay, exclude=[]),
                        name="cfgday", prefix="cfgday/", columns=[("kind", lambda d: d.kind.upper())])

urlpatterns = [*pages.urls(), *day_pages.urls(), path("", include("guanxi.urls"))]


@pytest.fixture
def admin(client_for):
    return client_for("admin")


def rows():
    return AuditEvent.objects.filter(action=AuditAction.SETTINGS_CHANGE, record_type="tests.category")


def test_declaration():
    with pytest.raises(TypeError):
        ConfigPages(model=TicketCategory, colums=[])
    names = [p.name for p in pages.urls()]
    assert names == ["cfg_list", "cfg_add", "cfg_edit", "cfg_delete", "cfg_deactivate"]
    assert reverse("cfg_edit", args=[3]) == "/cfg/3/" and reverse("cfg_delete", args=[3]) == "/cfg/3/delete/"


def test_snapshot_and_diff():
    billing = TicketCategory.objects.get(name="Billing")
    policy = SlaPolicy(name="P", priority="urgent", category=billing, first_response_minutes=5,
                       resolution_minutes=10)
    values = snapshot(policy)
    assert values["priority"] == "urgent" and values["category"] == billing.path_label
    assert values["calendar"] is None and values["first_response_minutes"] == 5
    assert "id" not in values
    assert diff({"a": 1, "b": 2}, {"a": 1, "b": 3}) == {"b": [2, 3]}
    assert diff(None, {"a": 1}) == {"a": [None, 1]}


def test_deletion_effects(users):
    quality = TicketCategory.objects.get(name="Product quality")
    protected, also = deletion_effects(quality)
    assert {c.name for c in protected} == {"Defect or malfunction", "Packaging damaged"} and also == []
    leaf = TicketCategory.objects.get(name="Refund")
    SlaPolicy.objects.create(name="R", category=leaf, first_response_minutes=1, resolution_minutes=2)
    protected, also = deletion_effects(leaf)
    assert protected == [] and len(also) == 1 and also[0].startswith("1 ")


def test_list_add_edit_delete(admin):
    r = admin.get("/cfg/")
    assert r.status_code == 200 and admin.post("/cfg/").status_code == 405
    names = [row["object"].name for row in r.context["rows"]]
    assert names == list(TicketCategory.objects.order_by("-position", "id").values_list("name", flat=True))
    assert admin.post("/cfg/add/", {"name": "New", "position": 3, "is_active": "on"}).status_code == 302
    new = TicketCategory.objects.get(name="New")
    assert rows().get(record_id=new.pk).data == {
        "event": "create", "changes": {"name": [None, "New"], "position": [None, 3], "is_active": [None, True]}}
    assert admin.post(f"/cfg/{new.pk}/", {"name": "Newer", "position": 3, "is_active": "on"}).status_code == 302
    assert rows().filter(record_id=new.pk).latest("id").data == {"event": "update",
                                                                 "changes": {"name": ["New", "Newer"]}}
    assert admin.post(f"/cfg/{new.pk}/delete/").status_code == 302
    assert not TicketCategory.objects.filter(pk=new.pk).exists()
    assert rows().filter(record_id=new.pk).latest("id").data["event"] == "delete"


def test_invalid_form_is_422_and_saves_nothing(admin):
    n, audits = TicketCategory.objects.count(), rows().count()
    r = admin.post("/cfg/add/", {"name": "", "position": -1})
    assert r.status_code == 422 and r.context["form"].errors
    assert TicketCategory.objects.count() == n and rows().count() == audits
    assert admin.get("/cfg/999999/").status_code == 404


def test_refusals(admin, users):
    other = TicketCategory.objects.get(name="Other")
    r = admin.post(f"/cfg/{other.pk}/delete/")
    assert r.status_code == 409 and "Keep “Other”." in r.content.decode()
    service = TicketCategory.objects.get(name="Service attitude")
    svc.ticket_create(actor=users["agent"], fields={"subject": "Rude", "category": service, "customer_name": "W"})
    r = admin.post(f"/cfg/{service.pk}/delete/")
    assert r.status_code == 409 and r.context["refusal"]
    assert r.context["deactivate_url"] == f"/cfg/{service.pk}/deactivate/"
    assert TicketCategory.objects.filter(pk=service.pk).exists() and not rows().exists()


def test_protected_after_the_confirmation_page(admin, users):
    """Someone starts using the row between the check and the delete: refused, nothing written."""
    service = TicketCategory.objects.get(name="Service attitude")
    svc.ticket_create(actor=users["agent"], fields={"subject": "Rude", "category": service, "customer_name": "W"})
    with mock.patch.object(config_views, "deletion_effects", return_value=([], [])):
        r = admin.post(f"/cfg/{service.pk}/delete/")
    assert r.status_code == 409 and "（1 工单）" in r.context["refusal"]  # the admin works in Chinese
    assert TicketCategory.objects.filter(pk=service.pk).exists() and not rows().exists()


def test_deactivate(admin):
    other = TicketCategory.objects.get(name="Other")
    assert admin.get(f"/cfg/{other.pk}/deactivate/").status_code == 405
    assert admin.post(f"/cfg/{other.pk}/deactivate/").status_code == 302
    assert admin.post(f"/cfg/{other.pk}/deactivate/").status_code == 302  # again: no second audit row
    other.refresh_from_db()
    assert not other.is_active and rows().filter(record_id=other.pk).count() == 1


def test_model_without_is_active_has_no_deactivate(admin):
    day = CalendarDay.objects.first()
    r = admin.get(f"/cfgday/{day.pk}/delete/")
    assert r.status_code == 200 and r.context["deactivate_url"] == ""
    assert admin.post(f"/cfgday/{day.pk}/deactivate/").status_code == 302
    assert CalendarDay.objects.filter(pk=day.pk).exists()
    assert "HOLIDAY" in admin.get("/cfgday/").content.decode()


@pytest.mark.parametrize("username", ["rep1", "agent", "supervisor"])
def test_admins_only(client_for, username):
    c = client_for(username)
    other = TicketCategory.objects.get(name="Other")
    assert c.get("/cfg/").status_code == 404
    assert c.post("/cfg/add/", {"name": "X", "position": 0}).status_code == 404
    assert c.post(f"/cfg/{other.pk}/delete/").status_code == 404
    assert c.post(f"/cfg/{other.pk}/deactivate/").status_code == 404
    other.refresh_from_db()
    assert other.is_active and not TicketCategory.objects.filter(name="X").exists() and not rows().exists()
