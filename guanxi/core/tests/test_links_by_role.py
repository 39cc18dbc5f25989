"""Links and buttons lead only to pages the viewer may open: a role without `add` gets no "Create"
links, and a linked customer pool is a link only for its members and administrators."""

import pytest

from guanxi.customers.models import Pool
from guanxi.customers.tests.factories import AccountFactory
from guanxi.sales.tests.factories import LeadFactory

pytestmark = pytest.mark.django_db

ADD_COMPANY = 'href="/companies/new/'
ADD_RELATION = 'href="/relations/new/?from_account='
ADD_CONTACT = 'href="/contacts/new/?account='


def test_create_links_follow_the_role(users, client_for):
    company = AccountFactory(owner=users["rep1"])
    rep1, agent = client_for("rep1"), client_for("agent")

    page = rep1.get(f"/companies/{company.pk}/").content.decode()
    assert ADD_COMPANY in page and ADD_RELATION in page and ADD_CONTACT in page
    # The agent sees the company (service works every customer) but may not create companies or relations.
    response = agent.get(f"/companies/{company.pk}/")
    assert response.status_code == 200
    page = response.content.decode()
    assert ADD_COMPANY not in page and ADD_RELATION not in page
    assert agent.get("/companies/new/").status_code == 403  # what the link used to lead to

    home = agent.get("/").content.decode()
    assert ADD_COMPANY not in home
    assert ADD_COMPANY in client_for("rep2").get("/").content.decode()  # owns nothing yet, may create

    empty = agent.get("/companies/?q=nothing-matches-this").content.decode()
    assert ADD_COMPANY not in empty
    assert ADD_COMPANY in rep1.get("/companies/?q=nothing-matches-this").content.decode()


def test_a_linked_pool_is_a_link_only_for_who_may_open_it(users, client_for):
    pool = Pool.objects.create(name="华东公海")
    pool.members.add(users["rep1"])
    lead = LeadFactory(owner=users["rep1"], pool=pool)
    link = f'href="/pools/{pool.pk}/"'

    assert link in client_for("rep1").get(f"/leads/{lead.pk}/").content.decode()
    assert link in client_for("admin").get(f"/leads/{lead.pk}/").content.decode()
    manager = client_for("manager")
    page = manager.get(f"/leads/{lead.pk}/").content.decode()
    assert "华东公海" in page and link not in page
    assert manager.get(f"/pools/{pool.pk}/").status_code == 404

