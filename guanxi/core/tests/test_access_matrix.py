"""The generated access matrix (issue 3): roles × record relation × action × channel.

The expectations below are written out by hand from the product rules, independently of
guanxi.core.access, so that a bug there shows up here. Each test takes one viewer and one record type,
creates one record per relation (own, same team, subordinate's, other team's, shared read, shared edit),
and asks every channel. Denied writes must leave the record unchanged (same version and values).
"""

import json

import pytest
from django.test import Client
from django.urls import reverse

from guanxi.core.models import ApiToken, RecordShare, Role, RolePermission, Team
from guanxi.customers.models import Account, Contact
from guanxi.customers.tests.factories import AccountFactory, ContactFactory
from guanxi.framework import registry
from guanxi.framework.testing import export_rows

pytestmark = pytest.mark.django_db

ALL = {"view", "change", "delete", "export", "reveal", "assign"}
READ_SHARE = {"view", "export", "reveal"}
EDIT_SHARE = READ_SHARE | {"change"}

# viewer -> {relation: allowed actions}; relations a viewer does not have are left out.
# `team_lead` is a test role: view, change, export, reveal with visibility "team".
EXPECTED = {
    "rep1": {  # sales rep: own records only; no export, no assign
        "own": {"view", "change", "delete", "reveal"},
        "same_team": set(),
        "other_team": set(),
        "shared_read": {"view", "reveal"},
        "shared_edit": {"view", "change", "reveal"},
    },
    "team_lead": {
        "own": {"view", "change", "export", "reveal"},
        "same_team": {"view", "change", "export", "reveal"},
        "other_team": set(),
        "shared_read": {"view", "export", "reveal"},
        "shared_edit": {"view", "change", "export", "reveal"},
    },
    "manager": {  # sales manager: everything on their own and their subordinates' records
        "own": ALL,
        "subordinate": ALL,
        "other_team": set(),
        "shared_read": READ_SHARE,
        "shared_edit": EDIT_SHARE,
    },
    "marketer": {rel: {"view", "export"} for rel in ("own", "other_team", "shared_read")},
    "agent": {rel: {"view", "reveal"} for rel in ("own", "other_team", "shared_edit")},
    "auditor": {rel: set() for rel in ("own", "other_team", "shared_edit")},
    "admin": {rel: ALL for rel in ("own", "other_team")},
}
# Service agents may also edit contacts (callers change their numbers).
AGENT_CONTACT_EXTRA = {"change"}

MODELS = {
    "account": (Account, AccountFactory, "/api/v1/accounts", "customers.account"),
    "contact": (Contact, ContactFactory, "/api/v1/contacts", "customers.contact"),
}


@pytest.fixture
def org(users):
    """The demo organisation (rep3 is in 华南销售组, outside the manager's department) plus a team lead there."""
    south = Team.objects.get(name="华南销售组")
    lead_role = Role.objects.create(code="team_lead", name="Team lead")
    for key in ("customers.account", "customers.contact", "customers.accountrelation"):
        RolePermission.objects.create(role=lead_role, record_type=key, scope="team",
                                      actions=["view", "change", "export", "reveal"])
    from django.contrib.auth import get_user_model

    User = get_user_model()
    lead = User.objects.create_user("team_lead", password="x-unused-9", role=lead_role, team=south)
    return {**users, "team_lead": lead}


def owners_for(viewer, org):
    """relation -> owner of the record for that relation, from this viewer's point of view."""
    me = org[viewer]
    table = {
        "rep1": {"own": me, "same_team": org["rep2"], "other_team": org["rep3"]},
        "team_lead": {"own": me, "same_team": org["rep3"], "other_team": org["rep1"]},
        "manager": {"own": me, "subordinate": org["rep1"], "other_team": org["rep3"]},
        "marketer": {"own": me, "other_team": org["rep3"]},
        "agent": {"own": me, "other_team": org["rep3"]},
        "auditor": {"own": me, "other_team": org["rep3"]},
        "admin": {"own": me, "other_team": org["rep3"]},
    }[viewer]
    stranger = org["rep3"] if viewer not in ("team_lead",) else org["rep1"]
    table["shared_read"] = table["shared_edit"] = stranger
    return table


def make_records(viewer, org, factory, type_key):
    records = {}
    for relation, owner in owners_for(viewer, org).items():
        if relation not in EXPECTED[viewer]:
            continue
        obj = factory(owner=owner, name=f"矩阵-{viewer}-{relation}-{type_key[-4:]}")
        if relation.startswith("shared_"):
            RecordShare.objects.create(record_type=type_key, record_id=obj.pk, user=org[viewer],
                                       level=relation.removeprefix("shared_"))
        records[relation] = obj
    return records


def api_client(user):
    _t, raw = ApiToken.issue(user=user, name="matrix")
    client = Client()
    headers = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    return client, headers


def state(model, obj):
    row = model.all_objects.filter(pk=obj.pk).values().first()
    tags = sorted(model.all_objects.get(pk=obj.pk).tags.values_list("name", flat=True))
    return row, tags


def expected_actions(viewer, relation, model_key):
    allowed = set(EXPECTED[viewer][relation])
    if viewer == "agent" and model_key == "contact":
        allowed |= AGENT_CONTACT_EXTRA
    return allowed


@pytest.mark.parametrize("model_key", sorted(MODELS))
@pytest.mark.parametrize("viewer", sorted(EXPECTED))
def test_access_matrix(viewer, model_key, org):
    model, factory, api_path, type_key = MODELS[model_key]
    rt = registry.get(type_key)
    records = make_records(viewer, org, factory, type_key)
    user = org[viewer]
    ui = Client()
    ui.force_login(user)
    api, headers = api_client(user)
    cells = []

    def check(channel, relation, action, ok, got):
        cells.append((channel, relation, action))
        assert ok == got, f"{viewer} {model_key} {relation} {action} via {channel}: expected {ok}, got {got}"

    list_ids = {obj.pk for obj, _v in ui.get(reverse(rt.url_name("list")), {"per_page": 100}).context["rows"]}
    api_list = api.get(api_path, {"limit": 200}, **headers)
    assert api_list.status_code == 200
    api_ids = {item["id"] for item in api_list.json()["items"]}
    for relation, obj in records.items():
        allowed = expected_actions(viewer, relation, model_key)
        view = "view" in allowed
        check("ui list", relation, "view", view, obj.pk in list_ids)
        check("api list", relation, "view", view, obj.pk in api_ids)
        check("ui detail", relation, "view", view, ui.get(obj.get_absolute_url()).status_code == 200)
        check("api detail", relation, "view", view, api.get(f"{api_path}/{obj.pk}", **headers).status_code == 200)
        palette = ui.get(reverse("palette_search"), {"q": obj.name}).content.decode()
        check("global search", relation, "view", view, obj.get_absolute_url() in palette)
        auto = ui.get(reverse("autocomplete", args=[type_key]), {"q": obj.name}).json()["results"]
        check("autocomplete", relation, "view", view, str(obj.pk) in {r["value"] for r in auto})
        # Reveal (contacts have personal data).
        if model_key == "contact":
            reveal = ui.post(reverse("reveal", args=[type_key, obj.pk, "mobile"]))
            check("ui reveal", relation, "reveal", "reveal" in allowed, reveal.status_code == 200)
            api_reveal = api.post(f"{api_path}/{obj.pk}/reveal", "{}", content_type="application/json", **headers)
            check("api reveal", relation, "reveal", "reveal" in allowed, api_reveal.status_code == 200)
            if reveal.status_code == 200:
                assert obj.mobile in reveal.content.decode()

    # Export: the role's export right, then the scope.
    export = ui.get(reverse(rt.url_name("export")), {"format": "csv"})
    if any("export" in expected_actions(viewer, r, model_key) for r in records):
        exported = {int(row[0]) for row in export_rows(export, "csv")[1:]}
    else:
        assert export.status_code == 403
        exported = set()
    for relation, obj in records.items():
        check("export", relation, "export", "export" in expected_actions(viewer, relation, model_key),
              obj.pk in exported)

    # Writes: denied ones change nothing.
    for relation, obj in records.items():
        allowed = expected_actions(viewer, relation, model_key)
        before = state(model, obj)
        # UI edit form.
        check("ui edit", relation, "change", "change" in allowed,
              ui.get(reverse(rt.url_name("edit"), args=[obj.pk])).status_code == 200)
        # API update.
        fresh = model.all_objects.get(pk=obj.pk)
        patch = api.patch(f"{api_path}/{obj.pk}", json.dumps({"version": fresh.version, "name": fresh.name + "改"}),
                          content_type="application/json", **headers)
        check("api update", relation, "change", "change" in allowed, patch.status_code == 200)
        if patch.status_code != 200:
            assert patch.status_code == 404 and state(model, obj) == before
        # Bulk tag (change) and bulk assign (assign).
        before = state(model, obj)
        ui.post(reverse(rt.url_name("bulk")), {"action": "add_tag", "ids": [obj.pk], "tag": "矩阵"})
        tagged = "矩阵" in state(model, obj)[1]
        check("bulk tag", relation, "change", "change" in allowed, tagged)
        if not tagged:
            assert state(model, obj) == before
        before = state(model, obj)
        target = org["rep1"] if viewer == "manager" else user
        ui.post(reverse(rt.url_name("bulk")), {"action": "assign_owner", "ids": [obj.pk], "owner": target.pk})
        moved = model.all_objects.get(pk=obj.pk).owner_id == target.pk and before[0]["owner_id"] != target.pk
        if before[0]["owner_id"] != target.pk:
            check("bulk assign", relation, "assign", "assign" in allowed, moved)
        if not moved:
            assert state(model, obj) == before
        if moved:  # put it back so the later checks see the relation they expect
            model.all_objects.filter(pk=obj.pk).update(owner_id=before[0]["owner_id"])

    for relation, obj in records.items():
        allowed = expected_actions(viewer, relation, model_key)
        before = state(model, obj)
        response = api.delete(f"{api_path}/{obj.pk}", **headers)
        check("api delete", relation, "delete", "delete" in allowed, response.status_code == 204)
        if response.status_code != 204:
            assert response.status_code == 404 and state(model, obj) == before
        else:
            model.all_objects.filter(pk=obj.pk).update(deleted_at=None)
        before = state(model, obj)
        response = ui.post(reverse(rt.url_name("delete"), args=[obj.pk]))
        check("ui delete", relation, "delete", "delete" in allowed, response.status_code == 302)
        if response.status_code != 302:
            assert response.status_code == 404 and state(model, obj) == before
        else:
            model.all_objects.filter(pk=obj.pk).update(deleted_at=None)
        before = state(model, obj)
        ui.post(reverse(rt.url_name("bulk")), {"action": "delete", "ids": [obj.pk]})
        deleted = model.all_objects.get(pk=obj.pk).deleted_at is not None
        check("bulk delete", relation, "delete", "delete" in allowed, deleted)
        if not deleted:
            assert state(model, obj) == before
    assert len(cells) >= len(records) * 12  # every channel was asked for every record


def test_ui_edit_post_denied_changes_nothing(org):
    """The edit form's POST (not only its GET) is refused out of scope."""
    other = AccountFactory(owner=org["rep3"], name="别人的公司")
    ui = Client()
    ui.force_login(org["rep1"])
    before = state(Account, other)
    response = ui.post(reverse("customers:account_edit", args=[other.pk]),
                       {"name": "改名", "lifecycle_stage": "prospect", "version": other.version})
    assert response.status_code == 404
    assert state(Account, other) == before


def test_add_needs_the_role(org):
    ui = Client()
    ui.force_login(org["marketer"])
    before = Account.all_objects.count()
    assert ui.get(reverse("customers:account_add")).status_code == 403
    response = ui.post(reverse("customers:account_add"), {"name": "市场部新建", "lifecycle_stage": "prospect"})
    assert response.status_code == 403
    api, headers = api_client(org["marketer"])
    response = api.post("/api/v1/accounts", json.dumps({"name": "市场部新建"}), content_type="application/json",
                        **headers)
    assert response.status_code == 403 and response.json()["code"] == "forbidden"
    assert Account.all_objects.count() == before


def test_relations_follow_their_companies(org):
    from guanxi.customers.tests.factories import RelationFactory

    mine = AccountFactory(owner=org["rep1"])
    theirs = AccountFactory(owner=org["rep3"])
    mine2 = AccountFactory(owner=org["rep1"])
    visible = RelationFactory(from_account=mine, to_account=mine2)
    hidden = RelationFactory(from_account=mine, to_account=theirs)
    ui = Client()
    ui.force_login(org["rep1"])
    ids = {obj.pk for obj, _v in ui.get(reverse("customers:accountrelation_list")).context["rows"]}
    assert visible.pk in ids and hidden.pk not in ids
    assert ui.get(hidden.get_absolute_url()).status_code == 404
    # A relation to a company rep1 cannot see cannot be created either.
    api, headers = api_client(org["rep1"])
    response = api.post("/api/v1/account-relations", json.dumps(
        {"from_account": mine.pk, "to_account": theirs.pk, "relation_type": "partner"}),
        content_type="application/json", **headers)
    assert response.status_code == 422


def _id_routes():
    """Every URL pattern that takes a record id, with its name, outside the Django admin."""
    from django.urls import URLPattern, URLResolver, get_resolver

    found = []

    def walk(patterns, prefix="", namespace=""):
        for p in patterns:
            if isinstance(p, URLResolver):
                if p.namespace == "admin" or str(p.pattern).startswith("api/"):
                    continue
                walk(p.url_patterns, prefix + str(p.pattern), p.namespace or namespace)
            elif isinstance(p, URLPattern) and "<int:" in str(p.pattern):
                found.append((prefix + str(p.pattern), f"{namespace}:{p.name}" if namespace else p.name))

    walk(get_resolver().url_patterns)
    return found


def test_every_id_route_refuses_another_users_record(org):
    """Generated: each UI route with an id, given rep3's record/token/view ids as rep1, answers 404 (or 405)."""
    import re

    from guanxi.core.models import SavedView
    from guanxi.customers.tests.factories import RelationFactory

    account = AccountFactory(owner=org["rep3"])
    contact = ContactFactory(owner=org["rep3"])
    relation = RelationFactory(from_account=account, to_account=AccountFactory(owner=org["rep3"]))
    token, _raw = ApiToken.issue(user=org["rep3"], name="rep3's")
    view = SavedView.objects.create(user=org["rep3"], record_type="customers.account", name="v")
    ids = {account.pk, contact.pk, relation.pk, token.pk, view.pk}
    snapshot = [state(Account, account), state(Contact, contact)]
    ui = Client()
    ui.force_login(org["rep1"])
    routes = _id_routes()
    assert len(routes) >= 10, routes
    tried = 0
    for pattern, name in routes:
        for type_key in ([rt.key for rt in registry.all_types()] if "<str:type_key>" in pattern else [None]):
            for pk in ids:
                url = "/" + re.sub(r"<int:(\w+)>", str(pk), pattern)
                url = url.replace("<str:type_key>", type_key or "").replace("<str:field>", "mobile")
                url = re.sub(r"<(?:str:)?(\w+)>", "x", url)
                for method in ("get", "post"):
                    response = getattr(ui, method)(url)
                    tried += 1
                    assert response.status_code in (404, 405), (method, url, name, response.status_code)
    assert tried > 50
    assert [state(Account, account), state(Contact, contact)] == snapshot
    assert ApiToken.objects.get(pk=token.pk).revoked_at is None
    assert SavedView.objects.filter(pk=view.pk).exists()
