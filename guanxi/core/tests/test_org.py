"""Administration of the organisation (users, roles, departments, teams), record sharing and the access
explainer: admin-only pages, audit rows, cycle checks, the effect of grid edits and shares on restrict(),
and explain() agreeing with restrict() over a generated set of users, records and actions."""

import itertools

import pytest
from django.test import Client
from django.utils import timezone, translation

from guanxi.core import services
from guanxi.core.access import explain
from guanxi.core.choices import Action, AuditAction, Scope
from guanxi.core.models import AuditEvent, Department, RecordShare, Role, RolePermission, Team, User
from guanxi.customers.models import Account, AccountRelation, Contact
from guanxi.customers.tests.factories import AccountFactory, ContactFactory, RelationFactory

pytestmark = pytest.mark.django_db

ADMIN_GET_URLS = [
    "/settings/users/", "/settings/users/add/", "/settings/users/{rep1}/", "/settings/roles/",
    "/settings/roles/add/", "/settings/roles/{role}/", "/settings/departments/", "/settings/departments/add/",
    "/settings/departments/{dept}/", "/settings/teams/", "/settings/teams/add/", "/settings/teams/{team}/",
    "/settings/access/explain/",
]


def org_state():
    """Everything the administrator pages and the share panel can change, for 'nothing changed' checks."""
    return (
        list(Role.objects.order_by("pk").values()),
        list(RolePermission.objects.order_by("pk").values()),
        list(User.objects.order_by("pk").values("pk", "username", "display_name", "email", "role_id", "team_id",
                                                "manager_id", "is_active", "password")),
        list(Department.objects.order_by("pk").values()),
        list(Team.objects.order_by("pk").values()),
        list(RecordShare.objects.order_by("pk").values()),
        AuditEvent.objects.count(),
    )


def audit_rows(action):
    return list(AuditEvent.objects.filter(action=action).order_by("pk"))


def grid_post(role, **overrides):
    """The role page's POST data: the role's current fields and grid, with `overrides` {type key: (actions, scope)}."""
    from guanxi.framework import registry

    data = {"name": role.name, "description": role.description}
    if role.is_admin:
        data["is_admin"] = "on"
    if role.can_read_audit:
        data["can_read_audit"] = "on"
    current = {p.record_type: (p.actions, p.scope) for p in role.permissions.all()} if role.pk else {}
    for rt in registry.all_types():
        actions, scope = overrides.get(rt.key.replace(".", "_"), current.get(rt.key, ([], Scope.OWN)))
        prefix = rt.key.replace(".", "__")
        for a in actions:
            data[f"{prefix}-{a}"] = "on"
        data[f"{prefix}-scope"] = scope
    return data


@pytest.fixture
def org(users):
    return {
        "sales": Department.objects.get(name="销售部"),
        "team": Team.objects.get(name="华东销售一组"),
        "service_team": Team.objects.get(name="客户服务部"),
        "sales_rep": Role.objects.get(code="sales_rep"),
    }


@pytest.fixture
def admin_client(client_for):
    return client_for("admin")


def fill(url, users, org):
    return url.format(rep1=users["rep1"].pk, role=org["sales_rep"].pk, dept=org["sales"].pk, team=org["team"].pk)


# -- administrators only -------------------------------------------------------------------------


class TestAdminOnly:
    @pytest.mark.parametrize("username", ["rep1", "manager", "auditor", "agent", "marketer"])
    def test_pages_are_404_for_non_admins(self, client_for, users, org, username):
        c = client_for(username)
        for url in ADMIN_GET_URLS:
            assert c.get(fill(url, users, org)).status_code == 404, url

    @pytest.mark.parametrize("username", ["rep1", "manager", "auditor"])
    def test_denied_posts_change_nothing(self, client_for, users, org, username):
        c = client_for(username)
        empty = Team.objects.create(name="空组")
        leaf = Department.objects.create(name="空部门")
        unused = Role.objects.create(code="unused", name="Unused")
        before = org_state()
        posts = [
            ("/settings/roles/{role}/", grid_post(org["sales_rep"], customers_account=(list(Action.values), "all"))),
            ("/settings/roles/add/", {"code": "x", "name": "X"}),
            (f"/settings/roles/{unused.pk}/delete/", {}),
            ("/settings/users/{rep1}/", {"display_name": "hacked", "role": org["sales_rep"].pk, "is_active": "on",
                                         "language": "en"}),
            ("/settings/users/add/", {"username": "intruder", "password1": "Xk9#long-pass", "password2":
                                      "Xk9#long-pass", "language": "en", "is_active": "on"}),
            ("/settings/departments/add/", {"name": "新部门"}),
            ("/settings/departments/{dept}/", {"name": "改名"}),
            (f"/settings/departments/{leaf.pk}/delete/", {}),
            ("/settings/teams/add/", {"name": "新组"}),
            ("/settings/teams/{team}/", {"name": "改名"}),
            (f"/settings/teams/{empty.pk}/delete/", {}),
        ]
        for url, data in posts:
            assert c.post(fill(url, users, org), data).status_code == 404, url
        assert org_state() == before

    def test_anonymous_is_sent_to_login(self, client, users, org):
        for url in ADMIN_GET_URLS:
            response = client.get(fill(url, users, org))
            assert response.status_code == 302 and response["Location"].startswith("/login/"), url

    def test_services_refuse_non_admin_actors(self, users, org):
        from django.core.exceptions import PermissionDenied

        before = org_state()
        with pytest.raises(PermissionDenied):
            services.role_update(actor=users["manager"], role=org["sales_rep"], fields={"is_admin": True})
        with pytest.raises(PermissionDenied):
            services.team_save(actor=users["rep1"], fields={"name": "x"})
        assert org_state() == before

    def test_menu_shows_the_pages_to_admins_only(self, admin_client, client_for):
        assert "/settings/roles/" in admin_client.get("/").content.decode()
        assert "/settings/roles/" not in client_for("manager").get("/").content.decode()

    def test_a_role_with_is_admin_opens_the_pages(self, users, org, client_for):
        role = Role.objects.create(code="org_admin", name="Org admin", is_admin=True)
        User.objects.filter(pk=users["marketer"].pk).update(role=role)
        assert client_for("marketer").get("/settings/users/").status_code == 200


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_every_page_renders_in_both_languages(users, org, language):
    admin = users["admin"]
    User.objects.filter(pk=admin.pk).update(language=language)
    account = AccountFactory(owner=users["rep1"])
    c = Client()
    c.force_login(User.objects.get(pk=admin.pk))
    urls = [fill(u, users, org) for u in ADMIN_GET_URLS] + [
        f"/settings/users/?q=rep&team={org['team'].pk}&role={org['sales_rep'].pk}&active=1",
        f"/settings/access/explain/?user={users['rep2'].pk}&record_type=customers.account&record_id={account.pk}"
        "&action=change",
        f"/share/customers.account/{account.pk}/",
    ]
    for url in urls:
        response = c.get(url)
        assert response.status_code == 200, url
        assert response["Content-Language"] == language
    page = c.get(f"/settings/roles/{org['sales_rep'].pk}/").content.decode()
    assert ("Save" if language == "en" else "保存") in page


# -- roles and the permission grid ----------------------------------------------------------------


class TestRoles:
    def test_grid_edit_changes_what_restrict_returns_on_the_next_request(self, admin_client, client_for, users, org):
        mine = AccountFactory(owner=users["rep1"], name="李的公司")
        theirs = AccountFactory(owner=users["rep2"], name="张的公司")
        rep1 = client_for("rep1")
        assert rep1.get(theirs.get_absolute_url()).status_code == 404
        assert "张的公司" not in rep1.get("/companies/").content.decode()

        response = admin_client.post(f"/settings/roles/{org['sales_rep'].pk}/", grid_post(
            org["sales_rep"], customers_account=(["view", "change"], Scope.TEAM)))
        assert response.status_code == 302
        assert rep1.get(theirs.get_absolute_url()).status_code == 200
        assert "张的公司" in rep1.get("/companies/").content.decode()
        assert set(Account.objects.restrict(User.objects.get(pk=users["rep1"].pk), "view")) == {mine, theirs}

        # Taking `view` away hides even the user's own records.
        admin_client.post(f"/settings/roles/{org['sales_rep'].pk}/", grid_post(
            org["sales_rep"], customers_account=([], Scope.TEAM)))
        assert rep1.get(mine.get_absolute_url()).status_code == 404
        assert not Account.objects.restrict(User.objects.get(pk=users["rep1"].pk), "view").exists()

    def test_grid_edit_writes_one_audit_row_with_before_and_after(self, admin_client, users, org):
        role = org["sales_rep"]
        before = role.permissions.get(record_type="customers.contact")
        admin_client.post(f"/settings/roles/{role.pk}/", {
            **grid_post(role, customers_contact=(["view", "export"], Scope.ALL)), "description": "新描述"})
        rows = audit_rows(AuditAction.ROLE_CHANGE)
        assert len(rows) == 1
        row = rows[0]
        assert (row.actor_id, row.record_type, row.record_id) == (users["admin"].pk, "core.role", role.pk)
        assert row.data["changes"] == {"description": ["", "新描述"]}
        assert row.data["permissions"] == {"customers.contact": [
            {"actions": [a for a in Action.values if a in before.actions], "scope": before.scope},
            {"actions": ["view", "export"], "scope": "all"},
        ]}
        # Saving again without changes writes nothing.
        admin_client.post(f"/settings/roles/{role.pk}/", grid_post(Role.objects.get(pk=role.pk)))
        assert len(audit_rows(AuditAction.ROLE_CHANGE)) == 1

    def test_create_with_a_unique_code_then_delete(self, admin_client, org):
        response = admin_client.post("/settings/roles/add/", {
            **grid_post(Role(name="Analyst"), customers_account=(["view"], Scope.ALL)), "code": "analyst"})
        assert response.status_code == 302
        role = Role.objects.get(code="analyst")
        assert role.permissions.get(record_type="customers.account").actions == ["view"]
        assert list(role.permissions.get(record_type="customers.contact").actions) == []

        count = Role.objects.count()
        response = admin_client.post("/settings/roles/add/", {**grid_post(Role(name="Dup")), "code": "analyst"})
        assert response.status_code == 422 and Role.objects.count() == count
        response = admin_client.post("/settings/roles/add/", {**grid_post(Role(name="Bad")), "code": "不 行"})
        assert response.status_code == 422 and Role.objects.count() == count

        admin_client.post(f"/settings/roles/{role.pk}/delete/")
        assert not Role.objects.filter(code="analyst").exists()
        assert [r.data["operation"] for r in audit_rows(AuditAction.ROLE_CHANGE)] == ["create", "delete"]

    def test_a_role_in_use_cannot_be_deleted(self, admin_client, org):
        before = org_state()
        response = admin_client.post(f"/settings/roles/{org['sales_rep'].pk}/delete/", follow=True)
        assert Role.objects.filter(pk=org["sales_rep"].pk).exists()
        [message] = list(response.context["messages"])
        in_use = User.objects.filter(role=org["sales_rep"]).count()
        assert message.level_tag == "error" and str(in_use) in str(message)
        assert org_state() == before

    def test_bad_grid_input_is_422_and_changes_nothing(self, admin_client, org):
        before = org_state()
        data = grid_post(org["sales_rep"])
        data["customers__account-scope"] = "everything"
        assert admin_client.post(f"/settings/roles/{org['sales_rep'].pk}/", data).status_code == 422
        assert admin_client.post(f"/settings/roles/{org['sales_rep'].pk}/", {"name": ""}).status_code == 422
        assert org_state() == before

    def test_the_last_administrator_cannot_remove_their_own_power(self, users, org):
        from django.core.exceptions import ValidationError

        admin_role = Role.objects.get(code="administrator")
        User.objects.filter(pk=users["admin"].pk).update(is_superuser=False)
        admin = User.objects.get(pk=users["admin"].pk)
        before = org_state()
        with pytest.raises(ValidationError):
            services.role_update(actor=admin, role=admin_role, fields={"is_admin": False})
        with pytest.raises(ValidationError):
            services.user_update(actor=admin, user=admin, fields={"is_active": False})
        assert org_state() == before


# -- users ----------------------------------------------------------------------------------------


class TestUsers:
    def test_list_filters(self, admin_client, users, org):
        User.objects.filter(pk=users["rep2"].pk).update(is_active=False)
        page = admin_client.get("/settings/users/", {"team": org["team"].pk, "active": "1"}).content.decode()
        assert "rep1" in page and "manager" in page and "rep2" not in page and "auditor" not in page
        page = admin_client.get("/settings/users/", {"q": "张销售"}).content.decode()
        assert "rep2" in page and "rep1" not in page
        page = admin_client.get("/settings/users/", {"role": Role.objects.get(code="auditor").pk}).content.decode()
        assert "auditor" in page and "rep1" not in page
        assert admin_client.get("/settings/users/", {"team": "abc", "page": "x"}).status_code == 200

    def test_edit_writes_an_org_change_with_before_and_after(self, admin_client, users, org):
        rep1 = users["rep1"]
        response = admin_client.post(f"/settings/users/{rep1.pk}/", {
            "display_name": "李四", "email": "li@example.cn", "role": org["sales_rep"].pk,
            "team": org["service_team"].pk, "manager": "", "is_active": "on", "language": "en"})
        assert response.status_code == 302
        rep1.refresh_from_db()
        assert (rep1.display_name, rep1.team_id, rep1.manager_id) == ("李四", org["service_team"].pk, None)
        [row] = audit_rows(AuditAction.ORG_CHANGE)
        assert row.record_type == "core.user" and row.record_id == rep1.pk
        changes = row.data["changes"]
        assert changes["display_name"] == ["李销售", "李四"]
        assert changes["team"] == [{"id": org["team"].pk, "label": "华东销售一组"},
                                   {"id": org["service_team"].pk, "label": "客户服务部"}]
        assert changes["manager"][1] is None
        assert "role" not in changes

    def test_manager_choices_exclude_the_user_and_everyone_below(self, admin_client, users):
        form = admin_client.get(f"/settings/users/{users['manager'].pk}/").context["form"]
        choices = set(form.fields["manager"].queryset.values_list("username", flat=True))
        assert {"manager", "rep1", "rep2"}.isdisjoint(choices) and "admin" in choices

    def test_a_manager_loop_is_rejected(self, admin_client, users, org):
        before = org_state()
        response = admin_client.post(f"/settings/users/{users['manager'].pk}/", {
            "display_name": "王经理", "role": Role.objects.get(code="sales_manager").pk, "team": org["team"].pk,
            "manager": users["rep1"].pk, "is_active": "on", "language": "zh-hans"})
        assert response.status_code == 422 and "manager" in response.context["form"].errors
        assert org_state() == before
        # The service refuses it too (for a caller that skips the form), with a clear message.
        from django.core.exceptions import ValidationError

        with translation.override("en"):  # the assertions read the English message
            with pytest.raises(ValidationError, match="loop"):
                services.user_update(actor=users["admin"], user=users["manager"], fields={"manager": users["rep2"]})
            with pytest.raises(ValidationError, match="loop"):
                services.user_update(actor=users["admin"], user=users["rep1"], fields={"manager": users["rep1"]})
        assert org_state() == before

    def test_only_a_superuser_changes_a_superuser(self, users, org):
        from django.core.exceptions import ValidationError

        boss = User.objects.create_user("boss", password="unused-Pw-77", role=Role.objects.get(code="administrator"))
        before = org_state()
        with translation.override("en"):  # the assertions read the English message
            with pytest.raises(ValidationError, match="superuser"):
                services.user_update(actor=boss, user=users["admin"], fields={"is_active": False})
        assert org_state() == before
        client = Client()
        client.force_login(boss)
        before = org_state()  # logging in writes its own audit row
        response = client.post(f"/settings/users/{users['admin'].pk}/", {
            "display_name": "x", "email": "admin@demo.guanxi.local", "language": "en"})
        assert response.status_code == 422
        assert org_state() == before

    def test_create_with_password_validation(self, admin_client, org):
        base = {"username": "rep9", "display_name": "新销售", "email": "rep9@example.cn",
                "role": org["sales_rep"].pk, "team": org["team"].pk, "language": "en", "is_active": "on"}
        before = org_state()
        for p1, p2 in [("123", "123"), ("password", "password"), ("12345678901", "12345678901"),
                       ("Long-enough-9", "Different-9")]:
            response = admin_client.post("/settings/users/add/", {**base, "password1": p1, "password2": p2})
            assert response.status_code == 422, p1
        assert admin_client.post("/settings/users/add/", {**base, "username": "rep1", "password1": "Lz8!quiet-harbor",
                                                          "password2": "Lz8!quiet-harbor"}).status_code == 422
        assert org_state() == before
        response = admin_client.post("/settings/users/add/", {**base, "password1": "Lz8!quiet-harbor",
                                                              "password2": "Lz8!quiet-harbor"})
        assert response.status_code == 302
        user = User.objects.get(username="rep9")
        assert user.check_password("Lz8!quiet-harbor") and user.team == org["team"]
        login = Client().post("/login/", {"username": "rep9", "password": "Lz8!quiet-harbor"})
        assert login.status_code == 302 and login["Location"] == "/"
        [row] = audit_rows(AuditAction.ORG_CHANGE)
        assert row.data["operation"] == "create" and row.record_id == user.pk
        assert "Lz8!quiet-harbor" not in str(row.data) and user.password not in str(row.data)


# -- departments and teams ------------------------------------------------------------------------


class TestDepartmentsAndTeams:
    def test_create_edit_and_audit(self, admin_client, users, org):
        response = admin_client.post("/settings/departments/add/", {"name": "华东区", "parent": org["sales"].pk,
                                                                   "manager": users["manager"].pk})
        assert response.status_code == 302
        east = Department.objects.get(name="华东区")
        assert east.parent == org["sales"]
        admin_client.post(f"/settings/teams/{org['team'].pk}/", {"name": "华东销售一组", "department": east.pk,
                                                                 "manager": users["manager"].pk})
        assert Team.objects.get(pk=org["team"].pk).department == east
        rows = audit_rows(AuditAction.ORG_CHANGE)
        assert [(r.record_type, r.data["operation"]) for r in rows] == [("core.department", "create"),
                                                                      ("core.team", "update")]
        assert rows[1].data["changes"] == {"department": [{"id": org["sales"].pk, "label": "销售部"},
                                                          {"id": east.pk, "label": "华东区"}]}
        page = admin_client.get("/settings/departments/").content.decode()
        table = page[page.index('id="department-table"'):]
        assert table.index("销售部") < table.index("华东区")

    def test_department_cycles_are_rejected(self, admin_client, users, org):
        from django.core.exceptions import ValidationError

        child = Department.objects.create(name="子部门", parent=org["sales"])
        grandchild = Department.objects.create(name="孙部门", parent=child)
        before = org_state()
        for parent in (grandchild, child, org["sales"]):
            response = admin_client.post(f"/settings/departments/{org['sales'].pk}/",
                                         {"name": "销售部", "parent": parent.pk})
            assert response.status_code == 422 and "parent" in response.context["form"].errors
        assert org_state() == before
        with translation.override("en"):  # the assertions read the English message
            with pytest.raises(ValidationError) as e:
                services.department_save(actor=users["admin"], department=org["sales"], fields={"parent": grandchild})
            assert "cycle" in str(e.value)
        assert org_state() == before

    def test_delete_only_when_empty(self, admin_client, users, org):
        before = org_state()
        admin_client.post(f"/settings/departments/{org['sales'].pk}/delete/")
        admin_client.post(f"/settings/teams/{org['team'].pk}/delete/")
        assert org_state() == before

        empty_team = Team.objects.create(name="空组", department=org["sales"])
        account = AccountFactory(owner=users["rep1"])
        services.record_share(actor=users["rep1"], obj=account, team=empty_team, level="read")
        admin_client.post(f"/settings/teams/{empty_team.pk}/delete/")
        assert not Team.objects.filter(pk=empty_team.pk).exists()
        assert not RecordShare.objects.filter(record_id=account.pk).exists()
        row = audit_rows(AuditAction.ORG_CHANGE)[-1]
        assert row.data["operation"] == "delete" and row.data["shares_removed"] == [
            {"record_type": "customers.account", "record_id": account.pk, "level": "read"}]

        leaf = Department.objects.create(name="空部门", parent=org["sales"])
        admin_client.post(f"/settings/departments/{leaf.pk}/delete/")
        assert not Department.objects.filter(pk=leaf.pk).exists()
        assert audit_rows(AuditAction.ORG_CHANGE)[-1].record_id == leaf.pk

    def test_bad_input_is_4xx(self, admin_client, org):
        before = org_state()
        assert admin_client.post("/settings/teams/add/", {"name": ""}).status_code == 422
        assert admin_client.post("/settings/teams/add/", {"name": "a\x00b"}).status_code == 422
        assert admin_client.post("/settings/teams/add/", {"name": "x", "department": "999999"}).status_code == 422
        assert admin_client.post("/settings/departments/add/", {"name": "x" * 101}).status_code == 422
        assert admin_client.get("/settings/teams/999999/").status_code == 404
        assert admin_client.post("/settings/teams/999999/delete/").status_code == 404
        assert org_state() == before


# -- sharing --------------------------------------------------------------------------------------


def share(c, obj, target, level, **headers):
    return c.post(f"/share/{obj.type_key()}/{obj.pk}/", {"target": target, "level": level}, **headers)


class TestSharing:
    def test_read_then_edit_share_never_delete(self, client_for, users):
        account = AccountFactory(owner=users["rep1"], name="共享公司")
        rep1, rep2 = client_for("rep1"), client_for("rep2")
        edit_url = f"/companies/{account.pk}/edit/"
        delete_url = f"/companies/{account.pk}/delete/"
        assert rep2.get(account.get_absolute_url()).status_code == 404

        assert share(rep1, account, f"user:{users['rep2'].pk}", "read").status_code == 302
        assert rep2.get(account.get_absolute_url()).status_code == 200
        assert "共享公司" in rep2.get("/companies/").content.decode()
        assert rep2.get(edit_url).status_code == 404
        version = Account.objects.get(pk=account.pk).version
        assert rep2.post(edit_url, {"name": "改名", "version": version}).status_code == 404
        assert Account.objects.get(pk=account.pk).name == "共享公司"

        assert share(rep1, account, f"user:{users['rep2'].pk}", "edit").status_code == 302
        assert RecordShare.objects.filter(record_id=account.pk).count() == 1
        assert rep2.get(edit_url).status_code == 200
        assert rep2.post(delete_url).status_code == 404
        assert Account.objects.filter(pk=account.pk).exists()

        rows = audit_rows(AuditAction.SHARE_CHANGE)
        assert [r.data["level"] for r in rows] == [[None, "read"], ["read", "edit"]]
        assert rows[0].record_type == "customers.account" and rows[0].record_id == account.pk
        assert rows[0].data["target"] == {"type": "user", "id": users["rep2"].pk, "label": "张销售"}

        shared = RecordShare.objects.get(record_id=account.pk)
        assert rep1.post(f"/share/customers.account/{account.pk}/{shared.pk}/remove/").status_code == 302
        assert rep2.get(account.get_absolute_url()).status_code == 404
        assert audit_rows(AuditAction.SHARE_CHANGE)[-1].data["level"] == ["edit", None]

    def test_team_share(self, client_for, users, org):
        contact = ContactFactory(owner=users["rep1"])
        agent = User.objects.get(pk=users["agent"].pk)
        rep2 = User.objects.get(pk=users["rep2"].pk)
        assert not Contact.objects.restrict(rep2, "view").filter(pk=contact.pk).exists()
        share(client_for("rep1"), contact, f"team:{org['team'].pk}", "read")
        assert Contact.objects.restrict(User.objects.get(pk=rep2.pk), "view").filter(pk=contact.pk).exists()
        assert not Contact.objects.restrict(User.objects.get(pk=rep2.pk), "change").filter(pk=contact.pk).exists()
        assert audit_rows(AuditAction.SHARE_CHANGE)[0].data["target"]["type"] == "team"
        assert agent.team_id != org["team"].pk

    def test_users_who_cannot_change_the_record_get_404(self, client_for, users):
        account = AccountFactory(owner=users["rep1"])
        services.record_share(actor=users["rep1"], obj=account, user=users["rep2"], level="read")
        shared = RecordShare.objects.get()
        clients = {username: client_for(username) for username in ("rep2", "marketer", "auditor")}
        before = org_state()
        for username, c in clients.items():
            assert c.get(f"/share/customers.account/{account.pk}/").status_code == 404, username
            assert share(c, account, f"user:{users[username].pk}", "edit").status_code == 404, username
            assert c.post(f"/share/customers.account/{account.pk}/{shared.pk}/remove/").status_code == 404
        assert org_state() == before

    def test_odd_input(self, client_for, users):
        account = AccountFactory(owner=users["rep1"])
        other = AccountFactory(owner=users["rep1"])
        rel = RelationFactory(from_account=account, to_account=other)
        services.record_share(actor=users["rep1"], obj=other, user=users["rep2"], level="read")
        foreign = RecordShare.objects.get()
        rep1 = client_for("rep1")
        before = org_state()
        assert rep1.get(f"/share/customers.accountrelation/{rel.pk}/").status_code == 404  # no owner: not shareable
        assert rep1.get(f"/share/core.user/{users['rep1'].pk}/").status_code == 404
        assert rep1.get(f"/share/nope/{account.pk}/").status_code == 404
        assert rep1.post(f"/share/customers.account/{account.pk}/{foreign.pk}/remove/").status_code == 404
        for target, level in [("", "read"), ("user:abc", "read"), ("user:999999", "read"), ("team:", "read"),
                              ("group:1", "read"), (f"user:{users['rep2'].pk}", "owner"),
                              (f"user:{users['rep1'].pk}", "read"), ("user:\x00", "read")]:
            assert share(rep1, account, target, level).status_code == 422, target
        assert org_state() == before
        User.objects.filter(pk=users["rep2"].pk).update(is_active=False)
        before = org_state()
        assert share(rep1, account, f"user:{users['rep2'].pk}", "read").status_code == 422
        assert org_state() == before

    def test_htmx_gets_the_partial(self, client_for, users):
        account = AccountFactory(owner=users["rep1"])
        rep1 = client_for("rep1")
        response = rep1.get(f"/share/customers.account/{account.pk}/", HTTP_HX_REQUEST="true")
        body = response.content.decode()
        assert response.status_code == 200 and 'id="share-panel"' in body and "<html" not in body
        response = share(rep1, account, f"user:{users['rep2'].pk}", "read", HTTP_HX_REQUEST="true")
        assert response.status_code == 200 and "张销售" in response.content.decode()
        # The explainer link is for administrators only.
        assert "/settings/access/explain/" not in response.content.decode()
        admin_panel = client_for("admin").get(f"/share/customers.account/{account.pk}/", HTTP_HX_REQUEST="true")
        assert "/settings/access/explain/" in admin_panel.content.decode()

    def test_share_button_on_the_record_page(self, client_for, users):
        account = AccountFactory(owner=users["rep1"])
        services.record_share(actor=users["rep1"], obj=account, user=users["rep2"], level="read")
        assert 'id="share-button"' in client_for("rep1").get(account.get_absolute_url()).content.decode()
        assert 'id="share-button"' not in client_for("rep2").get(account.get_absolute_url()).content.decode()


# -- the explainer --------------------------------------------------------------------------------


def default_pipeline():
    """The default pipeline seeded by migration sales/0002 (transactional tests elsewhere flush it)."""
    from guanxi.sales.models import Pipeline
    from guanxi.sales.tests.factories import ensure_default_pipeline

    if not Pipeline.objects.filter(is_default=True).exists():
        ensure_default_pipeline()
    return Pipeline.objects.get(is_default=True)


@pytest.fixture
def explain_records(users, org):
    """Records in every relation to the demo users: own, same team, subordinate's, shared, unowned, linked,
    in the recycle bin, linked to a record in the recycle bin."""
    rep1, rep2, manager = users["rep1"], users["rep2"], users["manager"]
    a1 = AccountFactory(owner=rep1)
    a2 = AccountFactory(owner=rep2)
    am = AccountFactory(owner=manager)
    a_agent = AccountFactory(owner=users["agent"])
    a_none = AccountFactory(owner=None)
    a_team_shared = AccountFactory(owner=users["agent"])
    binned = AccountFactory(owner=rep1)
    c1 = ContactFactory(owner=rep1)
    c_shared = ContactFactory(owner=manager)
    services.record_share(actor=users["admin"], obj=c_shared, user=rep2, level="read")
    services.record_share(actor=users["admin"], obj=a_team_shared, team=org["team"], level="edit")
    services.record_share(actor=users["admin"], obj=a2, user=rep1, level="read")
    rel = RelationFactory(from_account=a1, to_account=a2)
    rel_to_binned = RelationFactory(from_account=binned, to_account=a_agent)
    Account.all_objects.filter(pk=binned.pk).update(deleted_at=timezone.now())
    former = User.objects.create(username="former", role=org["sales_rep"], team=org["team"], is_active=False)
    AccountFactory(owner=former)
    records = [a1, a2, am, a_agent, a_none, a_team_shared, c1, c_shared, rel,
               Account.all_objects.get(pk=binned.pk), AccountRelation.all_objects.get(pk=rel_to_binned.pk)]
    return records + _sales_records(users, org) + _ticket_records(users)


def _ticket_records(users):
    """Service tickets: unassigned in the service team's queue, an agent's, a sales rep's, unassigned in
    another team's queue and in none, and one in the recycle bin."""
    from guanxi.service.models import Ticket

    service_team = users["agent"].team
    other_team = Team.objects.create(name="售后二组")
    specs = [(None, service_team), (users["agent"], service_team), (users["rep1"], None), (None, other_team),
             (None, None)]
    tickets = [Ticket.objects.create(subject="工单", owner=owner, team=team) for owner, team in specs]
    binned = Ticket.objects.create(subject="已删工单", owner=users["agent2"], team=service_team,
                                   deleted_at=timezone.now())
    return [*tickets, Ticket.all_objects.get(pk=binned.pk)]


def _sales_records(users, org):
    """Leads and deals in the same relations, plus customer pools (公海): unowned leads and companies in a
    pool of users, of a team, of a closed pool; a claimed pooled lead; interactions about a deal or a lead."""
    from djmoney.money import Money

    from guanxi.activities.models import Interaction
    from guanxi.customers.models import Pool
    from guanxi.sales.models import Lead, Opportunity

    rep1, rep2, rep3, manager = users["rep1"], users["rep2"], users["rep3"], users["manager"]
    east = Pool.objects.create(name="华东公海")
    east.members.add(rep1, users["marketer"])
    south = Pool.objects.create(name="华南公海")
    south.member_teams.add(Team.objects.get(name="华南销售组"))
    closed = Pool.objects.create(name="停用公海", is_active=False)
    closed.members.add(rep1)
    pipeline = default_pipeline()
    stage = pipeline.stages.filter(kind="open").order_by("position", "id").first()

    def deal(owner, account):
        return Opportunity.objects.create(name="商机", account=account, pipeline=pipeline, stage=stage, owner=owner,
                                          amount=Money(1000, "CNY"), stage_entered_at=timezone.now())

    leads = [Lead.objects.create(name="线索", owner=owner) for owner in (rep1, rep2, rep3, manager)]
    pooled = [Lead.objects.create(name="公海线索", owner=None, pool=pool) for pool in (east, south, closed)]
    claimed = Lead.objects.create(name="已领线索", owner=rep2, pool=east)
    pooled_account = AccountFactory(owner=None, pool=east)
    south_account = AccountFactory(owner=None, pool=south)
    deals = [deal(owner, AccountFactory(owner=owner)) for owner in (rep1, rep2, rep3)]
    hidden_company_deal = deal(rep1, AccountFactory(owner=rep3))
    services.record_share(actor=users["admin"], obj=deals[2], user=rep1, level="read")
    services.record_share(actor=users["admin"], obj=leads[2], team=org["team"], level="edit")
    about_deal = Interaction.objects.create(opportunity=deals[1], owner=rep2, subject="关于商机")
    about_pooled_lead = Interaction.objects.create(lead=pooled[0], owner=rep3, subject="关于公海线索")
    return [*leads, *pooled, claimed, pooled_account, south_account, *deals, hidden_company_deal, about_deal,
            about_pooled_lead]


def test_explain_agrees_with_restrict_everywhere(users, explain_records):
    disagreements, outcomes = [], set()
    people = list(User.objects.order_by("username"))
    assert len(people) >= 8
    for person, obj, action in itertools.product(people, explain_records, Action.values):
        user = User.objects.get(pk=person.pk)  # fresh access caches, as on a new request
        decision, reasons = explain(user, obj, action)
        actual = type(obj).all_objects.restrict(User.objects.get(pk=person.pk), action).filter(pk=obj.pk).exists()
        assert reasons and all(r.text for r in reasons)
        outcomes.add((obj.type_key(), actual))
        if decision != actual:
            disagreements.append((person.username, obj.type_key(), str(obj), action, decision, actual))
    assert disagreements == [], "\n".join(map(str, disagreements))
    # The set is not trivial: every record type is both granted and refused somewhere.
    assert outcomes == {(key, ok) for key in ("customers.account", "customers.contact", "customers.accountrelation",
                                              "sales.lead", "sales.opportunity", "activities.interaction",
                                              "service.ticket")
                        for ok in (True, False)}


def test_explain_names_the_team_queue_and_agrees_with_restrict(users, explain_records):
    from guanxi.service.models import Ticket

    queue = Ticket.objects.get(subject="工单", owner=None, team=users["agent"].team)
    cases = [("agent", "view", True), ("agent2", "change", True), ("supervisor", "view", True),
             ("agent", "assign", False), ("agent", "delete", False), ("supervisor", "delete", False),
             ("rep1", "view", False), ("marketer", "view", True), ("marketer", "change", False),
             ("auditor", "view", False)]
    for username, action, expected in cases:
        user = User.objects.get(username=username)
        decision, reasons = explain(user, queue, action)
        actual = Ticket.objects.restrict(User.objects.get(username=username), action).filter(pk=queue.pk).exists()
        assert decision == actual == expected, (username, action)
        if expected and username != "marketer":  # granted by the queue, and the reason names its team
            assert any(r.granted and queue.team.name in r.text for r in reasons), reasons


def test_explain_names_the_pool_and_agrees_with_restrict(users, explain_records):
    from guanxi.sales.models import Lead

    east, south, closed = (Lead.objects.get(name="公海线索", pool__name=name)
                           for name in ("华东公海", "华南公海", "停用公海"))
    cases = [("rep1", east, "view", True), ("rep1", east, "change", False), ("rep1", east, "export", False),
             ("rep1", closed, "view", False), ("rep3", south, "view", True), ("rep3", east, "view", False),
             ("rep2", east, "view", False)]
    for username, lead, action, expected in cases:
        user = User.objects.get(username=username)
        decision, reasons = explain(user, lead, action)
        actual = Lead.objects.restrict(User.objects.get(username=username), action).filter(pk=lead.pk).exists()
        assert decision == actual == expected, (username, lead.pool.name, action)
        if expected:  # the granting reason names the pool
            assert any(r.granted and lead.pool.name in r.text for r in reasons), reasons


class TestExplainPage:
    def test_shows_reasons_decision_and_the_row_filter(self, admin_client, users):
        account = AccountFactory(owner=users["rep1"])
        services.record_share(actor=users["rep1"], obj=account, user=users["rep2"], level="read")
        url = "/settings/access/explain/"
        response = admin_client.get(url, {"user": users["rep2"].pk, "record_type": "customers.account",
                                          "record_id": account.pk, "action": "view"})
        body = response.content.decode()
        assert response.status_code == 200
        assert response.context["decision"] is True and response.context["actual"] is True
        assert "✓" in body and 'id="explain-mismatch"' not in body
        response = admin_client.get(url, {"user": users["rep2"].pk, "record_type": "customers.account",
                                          "record_id": account.pk, "action": "delete"})
        assert response.context["decision"] is False and response.context["actual"] is False
        assert "✗" in response.content.decode()
        matrix = {a.value: (e, r) for a, e, r in response.context["matrix"]}
        assert matrix["view"] == (True, True) and matrix["change"] == (False, False)

    def test_bad_input(self, admin_client, users):
        url = "/settings/access/explain/"
        assert admin_client.get(url).status_code == 200
        for params in [{"user": users["rep1"].pk, "record_type": "customers.account", "record_id": 999999,
                        "action": "view"},
                       {"user": "x", "record_type": "nope", "record_id": "1", "action": "fly"},
                       {"user": users["rep1"].pk, "record_type": "customers.account", "record_id": "9" * 30,
                        "action": "view"}]:
            response = admin_client.get(url, params)
            assert response.status_code == 422 and "decision" not in response.context


def test_grants_and_shares_are_one_statement_and_follow_role_and_team(users, org, django_assert_num_queries):
    """The role's grants and the shares with the user and their team come from one statement; without a
    role there are no grants, without a team only the user's own shares."""
    from guanxi.core import access

    def fresh(name):
        return User.objects.get(username=name)

    rep1 = fresh("rep1")
    mine = ContactFactory(owner=users["rep2"])
    teams = ContactFactory(owner=users["rep2"])
    RecordShare.objects.create(record_type="customers.contact", record_id=mine.pk, user=rep1, level="read")
    RecordShare.objects.create(record_type="customers.contact", record_id=teams.pk, team=rep1.team, level="edit")
    with django_assert_num_queries(1):
        assert access.grant(rep1, Contact).scope == Scope.OWN
        assert access._shared_ids(rep1, "customers.contact", "view") == tuple(sorted([mine.pk, teams.pk]))
        assert access._shared_ids(rep1, "customers.contact", "change") == (teams.pk,)

    User.objects.filter(pk=rep1.pk).update(team=None, role=None)
    alone = fresh("rep1")
    with django_assert_num_queries(1):
        assert access.grants(alone) == {}
        assert access._shared_ids(alone, "customers.contact", "view") == (mine.pk,)
    assert not Contact.objects.restrict(alone, "view").exists()  # no role: not even what is shared
