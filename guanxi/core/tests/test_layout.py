"""The page frame: favicon, the labels the script reads from the page, the menu's breakpoint by language."""

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("language, remove, expand", [("zh-hans", "移除", "navbar-expand-lg"),
                                                      ("en", "Remove", "navbar-expand-xl")])
def test_frame_in_both_languages(users, client_for, language, remove, expand):
    users["rep1"].language = language
    users["rep1"].save(update_fields=["language"])
    page = client_for("rep1").get("/").content.decode()
    assert 'rel="icon"' in page and "favicon" in page  # browsers asked for /favicon.ico and got a 404
    assert f'data-remove-label="{remove}"' in page  # the title of a chosen item's × in the pickers
    assert f'<nav class="navbar {expand} ' in page  # the English menu needs the wider screen
    bp = expand.removeprefix("navbar-expand-")
    # One search button at every width: the bar's own until the menu opens out, then the menu's.
    assert f"d-{bp}-none ms-auto" in page and f"d-none d-{bp}-inline-block" in page
