"""The filter form as users read it."""

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("language, labels", [("zh-hans", ("全部", "是", "否")), ("en", ("Any", "Yes", "No"))])
def test_yes_no_filters_offer_any_yes_no(users, client_for, language, labels):
    """A yes/no filter left alone reads "Any", not Django's "Unknown"; its values still filter."""
    agent = users["agent"]
    agent.language = language
    agent.save(update_fields=["language"])
    page = client_for("agent").get("/tickets/").content.decode()
    select = page[page.index('name="breached"'):]
    select = select[: select.index("</select>")]
    assert [f">{label}</option>" in select for label in labels] == [True, True, True]
    assert "Unknown" not in select and "未知" not in select
    assert client_for("agent").get("/tickets/?breached=true").status_code == 200


def test_a_linked_record_filter_is_picked_by_name(users, client_for):
    """Filters by a linked record ask for the record by name (autocomplete) and show the chosen one by
    name, and only when the viewer may see it; the API still takes the id."""
    from guanxi.customers.tests.factories import AccountFactory

    users["rep1"].language = "en"
    users["rep1"].save(update_fields=["language"])
    mine = AccountFactory(owner=users["rep1"], name="Mine <b>Co</b>")
    hidden = AccountFactory(owner=users["rep2"], name="Hidden Holdings")
    child = AccountFactory(owner=users["rep1"], parent=mine)
    rep1 = client_for("rep1")

    page = rep1.get(f"/companies/?parent={mine.pk}").content.decode()
    picker = page[page.index('<select name="parent"'):]
    picker = picker[: picker.index("</select>")]
    assert 'data-autocomplete="/autocomplete/customers.account/"' in picker
    assert "Parent company</label>" in page and "Parent company ID" not in page
    assert f'<option value="{mine.pk}" selected>Mine &lt;b&gt;Co&lt;/b&gt;</option>' in picker  # escaped
    assert child.name in page

    page = rep1.get(f"/contacts/?account={hidden.pk}").content.decode()
    assert "Hidden Holdings" not in page  # the filter's label never shows a record the viewer cannot see

    api = rep1.get("/api/v1/accounts", {"parent": mine.pk})
    assert api.status_code == 200 and [i["id"] for i in api.json()["items"]] == [child.pk]


def test_team_and_pool_filters_are_selects_of_names(users, client_for):
    from guanxi.core.models import Team
    from guanxi.customers.models import Pool

    agent = client_for("agent").get("/tickets/").content.decode()
    team = agent[agent.index('<select name="team"'):]
    team = team[: team.index("</select>")]
    assert all(f">{t.name}</option>" in team for t in Team.objects.all())

    mine, other = Pool.objects.create(name="华东公海"), Pool.objects.create(name="华南公海")
    mine.members.add(users["rep1"])
    leads = client_for("rep1").get("/leads/").content.decode()
    pool = leads[leads.index('<select name="pool"'):]
    pool = pool[: pool.index("</select>")]
    assert f'value="{mine.pk}">华东公海<' in pool and other.name not in pool  # only the pools they belong to


def test_the_picker_reads_nothing_until_a_record_is_chosen(users, rf):
    """Exports and bulk actions build the same FilterSet: its pickers must not run the viewer's
    restrict() unless a value is drawn."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from guanxi.customers.filtersets import ContactFilterSet
    from guanxi.customers.models import Contact
    from guanxi.customers.tests.factories import AccountFactory

    company = AccountFactory(owner=users["rep1"], name="Picked Co")
    for params, expected in (({}, 0), ({"account": str(company.pk)}, None)):
        request = rf.get("/contacts/", params)
        request.user = type(users["rep1"]).objects.get(pk=users["rep1"].pk)  # nothing cached on it
        with CaptureQueriesContext(connection) as ctx:
            fs = ContactFilterSet(request.GET, queryset=Contact.objects.all(), request=request)
            html = str(fs.form["account"])
        # The viewer's access (role and shares, pools) is read only to name a chosen company.
        access = [q["sql"] for q in ctx.captured_queries if "core_rolepermission" in q["sql"]
                  or "customers_pool" in q["sql"] or "customers_account" in q["sql"]]
        if expected == 0:
            assert access == []
        else:
            assert access and "Picked Co" in html
