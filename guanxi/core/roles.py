"""The default roles, created after every migration for each registered record type (never overwriting
what an administrator changed)."""

from django.db import transaction

from .choices import Scope

ALL_ACTIONS = ["view", "add", "change", "delete", "export", "import", "assign", "reveal"]

# code: (name, is_admin, can_read_audit, default grant, {record type: grant})
# A grant is (actions, scope); None grants nothing.
DEFAULT_ROLES = {
    "administrator": ("管理员 / Administrator", True, True, (ALL_ACTIONS, Scope.ALL), {}),
    "sales_manager": ("销售经理 / Sales manager", False, False, (ALL_ACTIONS, Scope.SUBTREE), {}),
    "sales_rep": ("销售代表 / Sales rep", False, False,
                  (["view", "add", "change", "delete", "reveal"], Scope.OWN), {}),
    "service_agent": ("客服专员 / Service agent", False, False, (["view", "reveal"], Scope.ALL),
                      {"customers.contact": (["view", "add", "change", "reveal"], Scope.ALL),
                       # Agents log calls on any customer they can see; their tasks are their own.
                       "activities.interaction": (["view", "add", "change"], Scope.ALL),
                       "activities.task": (["view", "add", "change", "delete"], Scope.OWN),
                       # Agents work their team's queue and hand tickets to each other.
                       "service.ticket": (["view", "add", "change", "export", "assign", "reveal"], Scope.TEAM)}),
    "service_manager": ("客服主管 / Service manager", False, False, (["view", "reveal"], Scope.ALL),
                        {"customers.contact": (["view", "add", "change", "reveal"], Scope.ALL),
                         "activities.interaction": (["view", "add", "change"], Scope.ALL),
                         "activities.task": (["view", "add", "change", "delete"], Scope.OWN),
                         # The manager of the service teams: every ticket of the teams below them.
                         "service.ticket": (ALL_ACTIONS, Scope.SUBTREE)}),
    "marketer": ("市场专员 / Marketer", False, False, (["view", "export"], Scope.ALL),
                 {"activities.task": (["view", "add", "change", "delete"], Scope.OWN),
                  # Marketing brings the leads in (campaigns, imports) and routes them to sales.
                  "sales.lead": (["view", "add", "change", "export", "import", "assign"], Scope.ALL)}),
    "auditor": ("审计员 / Auditor", False, True, None, {}),
}


@transaction.atomic
def ensure_default_roles(record_types=None):
    """Create missing default roles and their missing permission rows; returns {code: Role}."""
    from guanxi.framework import registry

    from .models import Role, RolePermission

    keys = record_types if record_types is not None else [rt.key for rt in registry.all_types()]
    roles = {}
    for code, (name, is_admin, audit, default, overrides) in DEFAULT_ROLES.items():
        role, created = Role.objects.get_or_create(
            code=code, defaults={"name": name, "is_admin": is_admin, "can_read_audit": audit})
        roles[code] = role
        existing = set(role.permissions.values_list("record_type", flat=True))
        rows = []
        for key in keys:
            spec = overrides.get(key, default)
            if key in existing or spec is None:
                continue
            actions, scope = spec
            rows.append(RolePermission(role=role, record_type=key, actions=list(actions), scope=scope))
        RolePermission.objects.bulk_create(rows)
    return roles
