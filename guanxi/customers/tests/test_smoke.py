import pytest

from guanxi.customers.models import Account


@pytest.mark.django_db
def test_api_create_and_stale_patch(api):
    r = api.post("/api/v1/accounts", {"name": "华为技术有限公司", "credit_code": "914403001922038216"})
    assert r.status_code == 201, r.content
    body = r.json()
    r = api.patch(f"/api/v1/accounts/{body['id']}", {"version": body["version"], "city": "深圳市"})
    assert r.status_code == 200, r.content
    r = api.patch(f"/api/v1/accounts/{body['id']}", {"version": body["version"], "city": "北京市"})
    assert r.status_code == 409
    assert Account.objects.get(pk=body["id"]).city == "深圳市"
