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
