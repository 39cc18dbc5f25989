"""The generated access matrix (issues 3 and 4): roles × record relation × action × channel.

The expectations below are written out by hand from the product rules, independently of
guanxi.core.access, so that a bug there shows up here. Each test takes one viewer and one record type
(companies, contacts, leads, deals), creates one record per relation (own, same team, subordinate's,
other team's, shared read, shared edit), and asks every channel the record type has (taken from its
RecordType: bulk actions, sensitive fields). Customer pools (公海) get their own cases. Denied writes
must leave the record unchanged (same version and values).
"""

import json

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from djmoney.money import Money

from guanxi.core.models import ApiToken, RecordShare, Role, RolePermission, Team
from guanxi.customers.models import Account, Contact, Pool
from guanxi.customers.tests.factories import AccountFactory, ContactFactory
from guanxi.framework import registry
from guanxi.framework.testing import export_rows
from guanxi.sales.models import Lead, Opportunity, Pipeline

pytestmark = pytest.mark.django_db


def default_pipeline():
    """The default pipeline seeded by migration sales/0002 (transactional tests elsewhere flush it)."""
    from guanxi.sales.tests.factories import ensure_default_pipeline

    if not Pipeline.objects.filter(is_default=True).exists():
        ensure_default_pipeline()
    return Pipeline.objects.get(is_default=True)


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
# Per record type, what some roles get instead of (or on top of) the table above.
EXTRA = {
    # Service agents may also edit contacts (callers change their numbers).
    ("agent", "customers.contact"): {"change"},
}
INSTEAD = {
    # Marketing brings leads in and routes them: every lead, edit, export and assign; no delete, no reveal.
    ("marketer", "sales.lead"): {"view", "change", "export", "assign"},
}


def make_lead(*, owner, name, **fields):
    fields.setdefault("mobile", "+8613912345678")
    return Lead.objects.create(name=name, company_name="矩阵线索公司", owner=owner, **fields)


def make_deal(*, owner, name, account=None):
    pipeline = default_pipeline()
    stage = pipeline.stages.filter(kind="open").order_by("position", "id").first()
    return Opportunity.objects.create(name=name, account=account or AccountFactory(owner=owner), pipeline=pipeline,
                                      stage=stage, owner=owner, amount=Money(50_000, "CNY"),
                                      stage_entered_at=timezone.now())


# record type -> (factory(owner=, name=), API path). Every owned record type is here or in OWN_MATRIX.
MODELS = {
    "customers.account": (AccountFactory, "/api/v1/accounts"),
    "customers.contact": (ContactFactory, "/api/v1/contacts"),
    "sales.lead": (make_lead, "/api/v1/leads"),
    "sales.opportunity": (make_deal, "/api/v1/opportunities"),
}
# Owned record types whose access matrix lives elsewhere (with their own channels).
OWN_MATRIX = {
    "activities.task": "guanxi/activities/tests/test_tasks.py (complete/reopen commands)",
    "activities.interaction": "visibility follows the records it is about (test_interactions, test_sales_links)",
    "service.ticket": "test_ticket_access_matrix below (owner = agent, team = queue)",
}
# Record types the Ctrl+K palette searches.
PALETTE = {"customers.account", "customers.contact", "sales.lead", "sales.opportunity"}


def test_every_owned_record_type_is_in_a_matrix():
    owned = {rt.key for rt in registry.all_types() if rt.has_owner}
    assert owned - set(MODELS) - set(OWN_MATRIX) == set()
    assert set(MODELS) <= owned


@pytest.fixture
def org(users):
    """The demo organisation (rep3 is in 华南销售组, outside the manager's department) plus a team lead there."""
    south = Team.objects.get(name="华南销售组")
    lead_role = Role.objects.create(code="team_lead", name="Team lead")
    for key in ("customers.account", "customers.contact", "customers.accountrelation", "sales.lead",
                "sales.opportunity"):
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


def expected_actions(viewer, relation, type_key):
    allowed = set(INSTEAD.get((viewer, type_key), EXPECTED[viewer][relation]))
    return allowed | EXTRA.get((viewer, type_key), set())


@pytest.mark.parametrize("type_key", sorted(MODELS))
@pytest.mark.parametrize("viewer", sorted(EXPECTED))
def test_access_matrix(viewer, type_key, org):
    factory, api_path = MODELS[type_key]
    rt = registry.get(type_key)
    model = rt.model
    records = make_records(viewer, org, factory, type_key)
    user = org[viewer]
    ui = Client()
    ui.force_login(user)
    api, headers = api_client(user)
    cells = []

    def check(channel, relation, action, ok, got):
        cells.append((channel, relation, action))
        assert ok == got, f"{viewer} {type_key} {relation} {action} via {channel}: expected {ok}, got {got}"

    list_ids = {obj.pk for obj, _v in ui.get(reverse(rt.url_name("list")), {"per_page": 100}).context["rows"]}
    api_list = api.get(api_path, {"limit": 200}, **headers)
    assert api_list.status_code == 200
    api_ids = {item["id"] for item in api_list.json()["items"]}
    for relation, obj in records.items():
        allowed = expected_actions(viewer, relation, type_key)
        view = "view" in allowed
        check("ui list", relation, "view", view, obj.pk in list_ids)
        check("api list", relation, "view", view, obj.pk in api_ids)
        check("ui detail", relation, "view", view, ui.get(obj.get_absolute_url()).status_code == 200)
        check("api detail", relation, "view", view, api.get(f"{api_path}/{obj.pk}", **headers).status_code == 200)
        palette = ui.get(reverse("palette_search"), {"q": obj.name}).content.decode()
        if type_key in PALETTE:
            check("global search", relation, "view", view, obj.get_absolute_url() in palette)
        else:  # not searched there: never leaks either
            assert obj.get_absolute_url() not in palette
        auto = ui.get(reverse("autocomplete", args=[type_key]), {"q": obj.name}).json()["results"]
        check("autocomplete", relation, "view", view, str(obj.pk) in {r["value"] for r in auto})
        # Reveal (types with personal data: contacts, leads).
        if rt.has_sensitive_fields and "mobile" in rt.model.sensitive_fields:
            reveal = ui.post(reverse("reveal", args=[type_key, obj.pk, "mobile"]))
            check("ui reveal", relation, "reveal", "reveal" in allowed, reveal.status_code == 200)
            api_reveal = api.post(f"{api_path}/{obj.pk}/reveal", "{}", content_type="application/json", **headers)
            check("api reveal", relation, "reveal", "reveal" in allowed, api_reveal.status_code == 200)
            if reveal.status_code == 200:
                assert obj.mobile in reveal.content.decode()

    # Export: the role's export right, then the scope.
    export = ui.get(reverse(rt.url_name("export")), {"format": "csv"})
    if any("export" in expected_actions(viewer, r, type_key) for r in records):
        exported = {int(row[0]) for row in export_rows(export, "csv")[1:]}
    else:
        assert export.status_code == 403
        exported = set()
    for relation, obj in records.items():
        check("export", relation, "export", "export" in expected_actions(viewer, relation, type_key),
              obj.pk in exported)

    # Writes: denied ones change nothing.
    for relation, obj in records.items():
        allowed = expected_actions(viewer, relation, type_key)
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
        # Bulk tag (change) and bulk assign (assign), where the record type offers them.
        before = state(model, obj)
        if "add_tag" in rt.bulk_actions:
            ui.post(reverse(rt.url_name("bulk")), {"action": "add_tag", "ids": [obj.pk], "tag": "矩阵"})
            tagged = "矩阵" in state(model, obj)[1]
            check("bulk tag", relation, "change", "change" in allowed, tagged)
            if not tagged:
                assert state(model, obj) == before
        before = state(model, obj)
        target = org["rep1"] if viewer == "manager" else user
        if "assign_owner" in rt.bulk_actions:
            ui.post(reverse(rt.url_name("bulk")), {"action": "assign_owner", "ids": [obj.pk], "owner": target.pk})
            moved = model.all_objects.get(pk=obj.pk).owner_id == target.pk and before[0]["owner_id"] != target.pk
            if before[0]["owner_id"] != target.pk:
                check("bulk assign", relation, "assign", "assign" in allowed, moved)
            if not moved:
                assert state(model, obj) == before
            if moved:  # put it back so the later checks see the relation they expect
                model.all_objects.filter(pk=obj.pk).update(owner_id=before[0]["owner_id"])

    for relation, obj in records.items():
        allowed = expected_actions(viewer, relation, type_key)
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
        if "delete" in rt.bulk_actions:
            before = state(model, obj)
            ui.post(reverse(rt.url_name("bulk")), {"action": "delete", "ids": [obj.pk]})
            deleted = model.all_objects.get(pk=obj.pk).deleted_at is not None
            check("bulk delete", relation, "delete", "delete" in allowed, deleted)
            if not deleted:
                assert state(model, obj) == before
    assert len(cells) >= len(records) * 10  # every channel was asked for every record


# -- customer pools (公海) ---------------------------------------------------------------------------

POOLED = {"customers.account": (AccountFactory, "/api/v1/accounts"), "sales.lead": (make_lead, "/api/v1/leads")}


@pytest.fixture
def pools(org):
    """华东公海 has rep1 and the manager as members; 华南公海 has rep3's team; a closed pool has rep1."""
    east = Pool.objects.create(name="华东公海")
    east.members.add(org["rep1"], org["manager"])
    south = Pool.objects.create(name="华南公海")
    south.member_teams.add(Team.objects.get(name="华南销售组"))
    closed = Pool.objects.create(name="停用公海", is_active=False)
    closed.members.add(org["rep1"])
    return {"east": east, "south": south, "closed": closed}


@pytest.mark.parametrize("type_key", sorted(POOLED))
def test_pool_members_see_unowned_pooled_records_and_nothing_more(type_key, org, pools):
    """An unowned record in a pool is visible (view only) to its members, directly or through their team:
    no edit, delete, assign, reveal or export from the pool; non-members and a closed pool see nothing."""
    factory, api_path = POOLED[type_key]
    rt = registry.get(type_key)
    model = rt.model
    tag = type_key[-4:]
    records = {
        "east": factory(owner=None, name=f"公海东-{tag}", pool=pools["east"]),
        "south": factory(owner=None, name=f"公海南-{tag}", pool=pools["south"]),
        "closed": factory(owner=None, name=f"公海停-{tag}", pool=pools["closed"]),
        # Claimed by rep2: it keeps its pool, but now only rep2's scope decides.
        "claimed": factory(owner=org["rep2"], name=f"公海领-{tag}", pool=pools["east"]),
    }
    # viewer -> the records they may see; everything else must answer 404 / be absent.
    sees = {
        "rep1": {"east"},  # member
        "rep3": {"south"},  # member through the team
        "rep2": {"claimed"},  # not a member; owns the claimed one
        "manager": {"east", "claimed"},  # member; rep2 is below the manager
    }
    for viewer, visible in sees.items():
        user = org[viewer]
        ui = Client()
        ui.force_login(user)
        api, headers = api_client(user)
        list_ids = {obj.pk for obj, _v in ui.get(reverse(rt.url_name("list")), {"per_page": 100}).context["rows"]}
        api_ids = {i["id"] for i in api.get(api_path, {"limit": 200}, **headers).json()["items"]}
        export = ui.get(reverse(rt.url_name("export")), {"format": "csv"})
        exported = {int(row[0]) for row in export_rows(export, "csv")[1:]} if export.status_code == 200 else set()
        if viewer != "manager":
            assert export.status_code == 403  # sales reps have no export
        for name, obj in records.items():
            view = name in visible
            pooled_only = view and obj.owner_id is None  # seen through the pool alone
            where = f"{viewer} {type_key} {name}"
            assert (obj.pk in list_ids) == view, where
            assert (obj.pk in api_ids) == view, where
            assert (ui.get(obj.get_absolute_url()).status_code == 200) == view, where
            assert (api.get(f"{api_path}/{obj.pk}", **headers).status_code == 200) == view, where
            auto = ui.get(reverse("autocomplete", args=[type_key]), {"q": obj.name}).json()["results"]
            assert (str(obj.pk) in {r["value"] for r in auto}) == view, where
            palette = ui.get(reverse("palette_search"), {"q": obj.name}).content.decode()
            assert (obj.get_absolute_url() in palette) == view, where
            if not pooled_only and view:
                continue  # the owner's scope decides: covered by the matrix above
            # Exports follow the export right's scope: the pool grants none.
            assert obj.pk not in exported, where
            before = state(model, obj)
            assert ui.get(reverse(rt.url_name("edit"), args=[obj.pk])).status_code == 404, where
            fresh = model.all_objects.get(pk=obj.pk)
            patch = api.patch(f"{api_path}/{obj.pk}", json.dumps({"version": fresh.version, "name": "改名"}),
                              content_type="application/json", **headers)
            assert patch.status_code == 404, where
            assert api.delete(f"{api_path}/{obj.pk}", **headers).status_code == 404, where
            assert ui.post(reverse(rt.url_name("delete"), args=[obj.pk])).status_code == 404, where
            bulk = reverse(rt.url_name("bulk"))
            ui.post(bulk, {"action": "add_tag", "ids": [obj.pk], "tag": "公海"})
            ui.post(bulk, {"action": "assign_owner", "ids": [obj.pk], "owner": user.pk})
            ui.post(bulk, {"action": "delete", "ids": [obj.pk]})
            if rt.has_sensitive_fields and "mobile" in model.sensitive_fields:
                assert ui.post(reverse("reveal", args=[type_key, obj.pk, "mobile"])).status_code == 404, where
                assert api.post(f"{api_path}/{obj.pk}/reveal", "{}", content_type="application/json",
                                **headers).status_code == 404, where
            assert state(model, obj) == before, where
    # The manager may export: their subordinate's claimed record is in it, the pool's unowned one is not.
    ui = Client()
    ui.force_login(org["manager"])
    exported = {int(row[0]) for row in export_rows(ui.get(reverse(rt.url_name("export")), {"format": "csv"}),
                                                   "csv")[1:]}
    assert records["claimed"].pk in exported and records["east"].pk not in exported


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


# Routes whose ids name shared configuration every sales user may use (a pipeline's board and its columns),
# not a record of someone else's.
SHARED_ID_ROUTES = {"sales:board", "sales:board_column", "sales:board_quick_create", "sales:board_view_save"}


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
    lead = make_lead(owner=org["rep3"], name="别人的线索")
    deal = make_deal(owner=org["rep3"], name="别人的商机", account=account)
    ids = {account.pk, contact.pk, relation.pk, token.pk, view.pk, lead.pk, deal.pk}
    snapshot = [state(Account, account), state(Contact, contact), state(Lead, lead), state(Opportunity, deal)]
    counts = [Opportunity.all_objects.count(), SavedView.objects.count()]
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
                    if name in SHARED_ID_ROUTES:
                        # Ids of shared configuration (a pipeline, a stage): no error, nothing created.
                        assert response.status_code < 500, (method, url, name, response.status_code)
                        continue
                    if response.status_code == 403:
                        # A page the role may not open at all (settings): refused alike for a missing id,
                        # so the answer says nothing about the record.
                        missing = "/" + re.sub(r"<int:(\w+)>", "999999999", pattern)
                        missing = missing.replace("<str:type_key>", type_key or "").replace("<str:field>", "mobile")
                        missing = re.sub(r"<(?:str:)?(\w+)>", "x", missing)
                        assert getattr(ui, method)(missing).status_code == 403, (method, url, name)
                        continue
                    assert response.status_code in (404, 405), (method, url, name, response.status_code)
    assert tried > 50
    assert [Opportunity.all_objects.count(), SavedView.objects.count()] == counts
    assert [state(Account, account), state(Contact, contact), state(Lead, lead), state(Opportunity, deal)] == snapshot
    assert ApiToken.objects.get(pk=token.pk).revoked_at is None
    assert SavedView.objects.filter(pk=view.pk).exists()


# -- service tickets: owner = the agent handling it, team = the queue it is in -----------------------

TICKET_ALL = {"view", "change", "delete", "export", "reveal", "assign"}
QUEUE = {"view", "change", "export", "reveal"}  # what a team's queue grants on its unassigned tickets
AGENT = {"view", "change", "export", "assign", "reveal"}  # service_agent: no delete

# viewer -> {ticket: allowed actions}; tickets left out: nothing. Written from the product rules:
# agents work their team's queue (unassigned tickets of their team) and see their teammates' tickets
# (visibility "team"); the service manager oversees the teams below them (visibility "subordinates");
# sales reps see only tickets they own; marketers view and export all; auditors see no ticket.
TICKET_EXPECTED = {
    "agent": {"queue": QUEUE, "agent": AGENT, "agent2": AGENT},
    "agent2": {"queue": QUEUE, "agent": AGENT, "agent2": AGENT},
    "supervisor": {"queue": QUEUE, "agent": TICKET_ALL, "agent2": TICKET_ALL},
    "rep1": {"rep1": {"view", "change", "delete", "reveal"}},
    "manager": {"rep1": TICKET_ALL},
    "marketer": {name: {"view", "export"} for name in ("queue", "agent", "agent2", "rep1", "other_queue",
                                                         "no_team")},
    "auditor": {},
    "admin": {name: TICKET_ALL for name in ("queue", "agent", "agent2", "rep1", "other_queue", "no_team")},
}


@pytest.fixture
def tickets(users):
    """One ticket per relation: unassigned in the agents' team queue, assigned to agent / agent2 / rep1,
    unassigned in another team's queue, unassigned in no queue."""
    from guanxi.service.models import Ticket

    service_team = users["agent"].team
    other_team = Team.objects.create(name="售后二组")

    def make(name, owner, team):
        return Ticket.objects.create(subject=f"工单矩阵-{name}", owner=owner, team=team,
                                     customer_email=f"{name}@example.com", customer_phone="+8613912345678")

    return {
        "queue": make("queue", None, service_team),
        "agent": make("agent", users["agent"], service_team),
        "agent2": make("agent2", users["agent2"], service_team),
        "rep1": make("rep1", users["rep1"], None),
        "other_queue": make("other_queue", None, other_team),
        "no_team": make("no_team", None, None),
    }


@pytest.mark.parametrize("viewer", sorted(TICKET_EXPECTED))
def test_ticket_access_matrix(viewer, users, tickets):
    from guanxi.core.access import explain
    from guanxi.service.models import Ticket

    rt = registry.get("service.ticket")
    user = users[viewer]
    ui = Client()
    ui.force_login(user)
    api, headers = api_client(user)
    api_path = "/api/v1/tickets"

    def allowed(name):
        return TICKET_EXPECTED[viewer].get(name, set())

    def check(channel, name, action, got):
        ok = action in allowed(name)
        assert ok == got, f"{viewer} ticket {name} {action} via {channel}: expected {ok}, got {got}"

    # The row filter itself, and explain() agreeing with it, for every action.
    for name, obj in tickets.items():
        for action in sorted(TICKET_ALL):
            fresh_user = type(user).objects.get(pk=user.pk)  # fresh access caches
            check("restrict", name, action, Ticket.objects.restrict(fresh_user, action).filter(pk=obj.pk).exists())
            decision, reasons = explain(type(user).objects.get(pk=user.pk), obj, action)
            check("explain", name, action, decision)
            if name == "queue" and viewer in ("agent", "agent2", "supervisor") and action == "view":
                assert any(r.granted and obj.team.name in r.text for r in reasons), reasons

    list_page = ui.get(reverse(rt.url_name("list")), {"per_page": 100})
    list_ids = {obj.pk for obj, _v in list_page.context["rows"]} if list_page.status_code == 200 else set()
    api_list = api.get(api_path, {"limit": 200}, **headers)
    api_ids = {item["id"] for item in api_list.json()["items"]} if api_list.status_code == 200 else set()
    for name, obj in tickets.items():
        check("ui list", name, "view", obj.pk in list_ids)
        check("api list", name, "view", obj.pk in api_ids)
        check("ui detail", name, "view", ui.get(obj.get_absolute_url()).status_code == 200)
        check("api detail", name, "view", api.get(f"{api_path}/{obj.pk}", **headers).status_code == 200)
        palette = ui.get(reverse("palette_search"), {"q": obj.subject}).content.decode()
        check("global search", name, "view", obj.get_absolute_url() in palette)
        auto = ui.get(reverse("autocomplete", args=["service.ticket"]), {"q": obj.subject})
        if auto.status_code == 200:
            check("autocomplete", name, "view", str(obj.pk) in {r["value"] for r in auto.json()["results"]})
        reveal = ui.post(reverse("reveal", args=["service.ticket", obj.pk, "customer_email"]))
        check("ui reveal", name, "reveal", reveal.status_code == 200)
        if reveal.status_code == 200:
            assert obj.customer_email in reveal.content.decode()

    export = ui.get(reverse(rt.url_name("export")), {"format": "csv"})
    exported = {int(row[0]) for row in export_rows(export, "csv")[1:]} if export.status_code == 200 else set()
    if not any("export" in allowed(name) for name in tickets):
        assert export.status_code == 403
    for name, obj in tickets.items():
        check("export", name, "export", obj.pk in exported)

    # Writes: the edit form, the API update, the take command; refused ones change nothing.
    for name, obj in tickets.items():
        before = state(Ticket, obj)
        check("ui edit", name, "change", ui.get(reverse(rt.url_name("edit"), args=[obj.pk])).status_code == 200)
        fresh = Ticket.all_objects.get(pk=obj.pk)
        patch = api.patch(f"{api_path}/{obj.pk}", json.dumps({"version": fresh.version,
                                                              "subject": fresh.subject + "改"}),
                          content_type="application/json", **headers)
        check("api update", name, "change", patch.status_code == 200)
        if patch.status_code != 200:
            assert patch.status_code in (403, 404) and state(Ticket, obj) == before
        if "view" not in allowed(name):
            assert patch.status_code == 404  # out of scope: not even its existence
        if "change" not in allowed(name):  # (taking one that may be taken: the test below)
            before = state(Ticket, obj)
            response = api.post(f"{api_path}/{obj.pk}/take", "{}", content_type="application/json", **headers)
            assert response.status_code in (403, 404) and state(Ticket, obj) == before, (name, response.status_code)

    for name, obj in tickets.items():
        before = state(Ticket, obj)
        response = api.delete(f"{api_path}/{obj.pk}", **headers)
        check("api delete", name, "delete", response.status_code == 204)
        if response.status_code != 204:
            assert response.status_code in (403, 404) and state(Ticket, obj) == before
        else:
            Ticket.all_objects.filter(pk=obj.pk).update(deleted_at=None)
        before = state(Ticket, obj)
        response = ui.post(reverse(rt.url_name("delete"), args=[obj.pk]))
        check("ui delete", name, "delete", response.status_code == 302)
        if response.status_code != 302:
            assert response.status_code in (403, 404) and state(Ticket, obj) == before
        else:
            Ticket.all_objects.filter(pk=obj.pk).update(deleted_at=None)


def test_taking_a_queue_ticket_moves_it_out_of_the_queue(users, tickets):
    """agent takes the queue ticket: it is theirs now; agent2 still sees it (same team), rep1 never did."""
    from guanxi.service.models import Ticket

    queue = tickets["queue"]
    api, headers = api_client(users["agent"])
    assert api.post(f"/api/v1/tickets/{queue.pk}/take", "{}", content_type="application/json",
                    **headers).status_code == 200
    queue.refresh_from_db()
    assert queue.owner == users["agent"]
    for viewer, visible in (("agent2", True), ("supervisor", True), ("rep1", False), ("auditor", False)):
        assert Ticket.objects.restrict(users[viewer], "view").filter(pk=queue.pk).exists() == visible, viewer
    assert not Ticket.objects.restrict(users["marketer"], "change").filter(pk=queue.pk).exists()
