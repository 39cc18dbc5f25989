"""Shared fixtures: demo-like users, logged-in clients and API clients with a real bearer token."""

import os

import pytest

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's sync API runs an event loop

# Real SMTP and IMAP servers for the email tests (smtp_server, smtp_mailer, imap_server, imap_account);
# real background-job workers (db_job_workers, redis_job_workers).
pytest_plugins = ["guanxi.framework.testing.mailservers", "guanxi.framework.testing.workers"]


@pytest.fixture(autouse=True)
def _default_language():
    """Every test starts in the default language: a request through the test client (session or bearer
    token) activates its user's language in the test's own thread, and that would leak into the next test."""
    from django.conf import settings
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture
def users(db):
    from guanxi.customers.demo import seed_users

    return seed_users()


@pytest.fixture
def rep1(users):
    return users["rep1"]


@pytest.fixture
def admin_user(users):
    return users["admin"]


@pytest.fixture
def client_rep1(client, rep1):
    client.force_login(rep1)
    return client


@pytest.fixture
def client_for(users):
    """client_for("manager"): a new test client signed in as that demo user."""
    from django.test import Client

    def make(username):
        c = Client()
        c.force_login(users[username])
        return c

    return make


@pytest.fixture
def client_manager(client_for):
    return client_for("manager")


@pytest.fixture
def api_token(rep1):
    from guanxi.core.models import ApiToken

    _token, raw = ApiToken.issue(user=rep1, name="tests")
    return raw


@pytest.fixture
def api(client, api_token):
    """A test client that sends `Authorization: Bearer <token>` and JSON bodies."""
    import json

    class Api:
        headers = {"HTTP_AUTHORIZATION": f"Bearer {api_token}"}

        def get(self, url, **params):
            return client.get(url, params, **self.headers)

        def post(self, url, data):
            return client.post(url, json.dumps(data), content_type="application/json", **self.headers)

        def patch(self, url, data):
            return client.patch(url, json.dumps(data), content_type="application/json", **self.headers)

        def delete(self, url):
            return client.delete(url, **self.headers)

    return Api()


@pytest.fixture
def api_for(users):
    """api_for("agent"): a JSON API client with a bearer token of that demo user."""
    import json

    from django.test import Client

    from guanxi.core.models import ApiToken

    def make(username):
        _token, raw = ApiToken.issue(user=users[username], name="tests")
        client = Client()
        headers = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}

        class Api:
            def get(self, url, **params):
                return client.get(url, params, **headers)

            def post(self, url, data=None, raw=None):
                body = raw if raw is not None else json.dumps(data if data is not None else {})
                return client.post(url, body, content_type="application/json", **headers)

            def patch(self, url, data, raw=None):
                body = raw if raw is not None else json.dumps(data)
                return client.patch(url, body, content_type="application/json", **headers)

            def delete(self, url):
                return client.delete(url, **headers)

        return Api()

    return make
