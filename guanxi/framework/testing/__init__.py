"""Declarative test suites: a model's test module declares its data and inherits the generic tests.

    from guanxi.framework.testing import RecordTypeSuite

    class TestAccountRecord(RecordTypeSuite):
        record_type = "customers.account"
        api_path = "/api/v1/accounts"
        model_factory = AccountFactory
        ...

See `suites.RecordTypeSuite` for every declaration.
"""

from .suites import RecordTypeSuite, api_ids, assert_invalid_input, export_rows, resolve

__all__ = ["RecordTypeSuite", "api_ids", "assert_invalid_input", "export_rows", "resolve"]
