"""Access control (ARCHITECTURE.md §4): roles, visibility scopes and shares turned into queryset filters.

`Model.objects.restrict(user, action)` (guanxi.framework.querysets) calls `restrict_queryset` here;
every channel goes through it. A record's visibility comes from:

- the role's permission row for the record type: the actions it allows and a scope
  (own / team / subtree / all);
- the record's owner: the user themself (own), a member of their team (team), someone below them
  in the organisation (subtree: reports by `User.manager`, members of teams they manage and of the
  teams of departments they manage, recursively);
- shares: a record shared with the user or their team (read: view, export, reveal; edit: also change);
- models without an owner (e.g. company relations) take their visibility from the records they
  link (`access_parents`).

Per-user facts are computed once per user object (i.e. once per request) and cached on it.
"""

from dataclasses import dataclass

from django.db.models import Q
from django.utils.translation import gettext as _

from guanxi.framework.prepared import PreparedQuery

from .choices import Action, Scope, ShareLevel

ACTIONS = tuple(Action.values)
# Actions that a share grants, by share level. Delete and assign stay with the owner's scope.
SHARE_ACTIONS = {
    ShareLevel.READ: {"view", "export", "reveal"},
    ShareLevel.EDIT: {"view", "export", "reveal", "change"},
}
# Actions whose row filter on a linked record (access_parents) is the parent's `change` filter.
WRITE_ACTIONS = {"change", "delete", "assign"}


@dataclass(frozen=True)
class Grant:
    actions: frozenset
    scope: str


NO_GRANT = Grant(frozenset(), Scope.OWN)


def type_key(model):
    return f"{model._meta.app_label}.{model._meta.model_name}"


def _cache(user):
    cache = getattr(user, "_guanxi_access", None)
    if cache is None:
        cache = {}
        user._guanxi_access = cache
    return cache


def is_active_user(user):
    return user is not None and getattr(user, "is_authenticated", False) and user.is_active


# The per-request look-ups of access control have one shape each: compiled once (framework.prepared).
def _facts_query(role_id, user_id, team_id):
    """The role's permission rows and the shares with the user or their team, in one statement: nearly
    every request needs both, and a round trip costs more than either look-up. A grant row carries its
    actions and scope, a share row its level and record id."""
    from django.db.models import BigIntegerField, JSONField, Value

    from .models import RecordShare, RolePermission

    role = RolePermission.objects.filter(role_id=role_id).values_list(
        "record_type", "actions", "scope", Value(None, output_field=BigIntegerField()))
    shares = RecordShare.objects.filter(Q(user_id=user_id) | Q(team_id=team_id)).values_list(
        "record_type", Value(None, output_field=JSONField()), "level", "record_id")
    return role.union(shares, all=True)


def _pools_query(user_id, team_id=None):
    from guanxi.customers.models import Pool

    who = Q(members=user_id) if team_id is None else Q(members=user_id) | Q(member_teams=team_id)
    return Pool.objects.filter(who, is_active=True).values_list("pk", flat=True)


# A missing role or team is NULL in the statement, which `=` matches with nothing.
FACTS = PreparedQuery("core.RolePermission", _facts_query, kinds=(int, int, int))
POOLS = PreparedQuery("customers.Pool", _pools_query, kinds=(int,))
TEAM_POOLS = PreparedQuery("customers.Pool", _pools_query, kinds=(int, int))


def _load_facts(user):
    """Read the role's grants and the user's shares (one statement per user object, i.e. per request)."""
    cache = _cache(user)
    found_grants, found_shares = {}, {}
    for key, actions, scope_or_level, record_id in FACTS.rows(user.role_id, user.pk, user.team_id):
        if record_id is None:
            found_grants[key] = Grant(frozenset(actions or ()), scope_or_level)
        else:
            found_shares.setdefault((key, scope_or_level), set()).add(record_id)
    cache["grants"], cache["share_rows"] = found_grants, found_shares


def grants(user) -> dict[str, Grant]:
    """{record type: Grant} of the user's role."""
    cache = _cache(user)
    if "grants" not in cache:
        _load_facts(user)
    return cache["grants"]


def grant(user, model_or_key) -> Grant:
    key = model_or_key if isinstance(model_or_key, str) else type_key(model_or_key)
    if getattr(user, "is_superuser", False):
        return Grant(frozenset(ACTIONS), Scope.ALL)
    return grants(user).get(key, NO_GRANT)


def allows(user, action, model_or_key) -> bool:
    """Whether the role allows `action` on the record type at all (scope aside)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    return is_active_user(user) and action in grant(user, model_or_key).actions


def is_admin(user):
    return is_active_user(user) and (user.is_superuser or bool(user.role_id and user.role.is_admin))


def can_read_audit(user):
    return is_active_user(user) and (user.is_superuser or bool(user.role_id and user.role.can_read_audit))


# -- the organisation --------------------------------------------------------------------------


def team_member_ids(user) -> frozenset:
    cache = _cache(user)
    if "team" not in cache:
        from .models import User

        ids = set(User.objects.filter(team_id=user.team_id).values_list("pk", flat=True)) if user.team_id else set()
        cache["team"] = frozenset(ids | {user.pk})
    return cache["team"]


def subordinate_ids(user) -> frozenset:
    """Everyone below `user`: reports (recursively), members of managed teams and departments' teams."""
    cache = _cache(user)
    if "subtree" not in cache:
        cache["subtree"] = frozenset(_below(user.pk))
    return cache["subtree"]


def _organisation_query():
    from django.db.models import Value

    from .models import Department, Team, User

    def rows(model, *fields, kind):
        return model.objects.order_by().annotate(kind=Value(kind)).values_list(*fields, "kind")

    return rows(User, "pk", "manager_id", "team_id", kind=0).union(
        rows(Team, "pk", "manager_id", "department_id", kind=1),
        rows(Department, "pk", "manager_id", "parent_id", kind=2), all=True)


# Users, teams and departments in one statement, compiled once: a manager's every request reads them.
ORGANISATION = PreparedQuery("core.User", _organisation_query, kinds=())


def _below(user_pk):
    found = ORGANISATION.rows()
    users = [row[:3] for row in found if row[3] == 0]
    teams = [row[:3] for row in found if row[3] == 1]
    departments = [row[:3] for row in found if row[3] == 2]
    reports, team_members, team_dept, dept_children, managed_teams, managed_depts = {}, {}, {}, {}, {}, {}
    for pk, manager_id, team_id in users:
        reports.setdefault(manager_id, []).append(pk)
        team_members.setdefault(team_id, []).append(pk)
    for pk, manager_id, department_id in teams:
        managed_teams.setdefault(manager_id, []).append(pk)
        team_dept.setdefault(department_id, []).append(pk)
    for pk, manager_id, parent_id in departments:
        managed_depts.setdefault(manager_id, []).append(pk)
        dept_children.setdefault(parent_id, []).append(pk)

    def teams_under(dept_pk):
        found, stack = [], [dept_pk]
        while stack:
            node = stack.pop()
            found.extend(team_dept.get(node, []))
            stack.extend(dept_children.get(node, []))
        return found

    seen, stack = set(), [user_pk]
    while stack:
        manager = stack.pop()
        below = list(reports.get(manager, []))
        for team_pk in managed_teams.get(manager, []):
            below.extend(team_members.get(team_pk, []))
        for dept_pk in managed_depts.get(manager, []):
            for team_pk in teams_under(dept_pk):
                below.extend(team_members.get(team_pk, []))
        for pk in below:
            if pk not in seen and pk != user_pk:
                seen.add(pk)
                stack.append(pk)
    return seen


def owner_ids_for_scope(user, scope):
    """Owners whose records the scope covers; None means every record."""
    if scope == Scope.ALL:
        return None
    if scope == Scope.TEAM:
        return team_member_ids(user)
    if scope == Scope.SUBTREE:
        return subordinate_ids(user) | {user.pk}
    return frozenset({user.pk})


def assignable_owner_ids(user, model):
    """Users this user may make the owner of a record of `model`: None means any active user."""
    g = grant(user, model)
    if "assign" not in g.actions:
        return frozenset({user.pk})
    return owner_ids_for_scope(user, g.scope)


def assignable_users(user, model):
    from .models import User

    ids = assignable_owner_ids(user, model)
    qs = User.objects.filter(is_active=True).order_by("username")
    return qs if ids is None else qs.filter(pk__in=ids)


# -- the row filter ----------------------------------------------------------------------------


def _shares(user):
    """{(record type, level): {ids}} of everything shared with the user or their team.

    One query per user object (i.e. per request) for every record type: a page often restricts several
    types (a contact list checks its companies; a company page its contacts, deals and tickets).
    """
    cache = _cache(user)
    if "share_rows" not in cache:
        _load_facts(user)
    return cache["share_rows"]


def _shared_ids(user, key, action):
    """Ids of records of `key` shared with the user or their team for `action` (cached per user object).

    Read into a list rather than used as a subquery: `owner_id = X OR id IN (subquery)` makes PostgreSQL
    scan the whole table, while `owner_id = X OR id IN (1, 2, 3)` is two index scans (BitmapOr).
    """
    levels = [level for level, actions in SHARE_ACTIONS.items() if action in actions]
    if not levels:
        return ()
    cache = _cache(user).setdefault("shares", {})
    if (key, action) not in cache:
        shares = _shares(user)
        cache[(key, action)] = tuple(sorted(set().union(*(shares.get((key, level), ()) for level in levels))))
    return cache[(key, action)]


NOTHING = Q(pk__in=[])


def restrict_queryset(qs, user, action):
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    if not is_active_user(user):
        return qs.none()
    condition = visibility_q(user, qs.model, action)
    if condition is NOTHING:
        return qs.none()
    return qs.filter(condition) if condition else qs


def visibility_q(user, model, action, prefix="", *, pools_inline=False):
    """The row filter for `action` on `model` as a Q, for rows reached through `prefix`.

    With prefix "" it filters `model` itself (an empty Q means every row). With a prefix such as
    "account__" it filters the rows of another model by the linked `model` row, which must then also
    exist and be live (not in the recycle bin). Linked records are joined rather than filtered with
    `IN (subquery)`: PostgreSQL turned OR-ed subqueries into hashed subplans over every visible parent.
    `pools_inline` reads the user's customer pools in a subquery instead of a statement of their own,
    for filters over a few rows already chosen (a page's memberships), where the plan does not suffer.
    The Q holds values only (the subquery as a ViewerPools), so equal Qs filter the same rows and one
    can key a cache of compiled statements (framework.related.FilteredRows).
    """
    g = grant(user, model)
    if action not in g.actions:
        return NOTHING
    live = Q()
    if prefix:  # e.g. "account__": the interaction has a company, and it is not in the recycle bin
        live = Q(**{f"{prefix[:-2]}__isnull": False, f"{prefix}deleted_at__isnull": True})
    parents = getattr(model, "access_parents", ())
    if parents:
        # A linked record (no owner of its own) is visible when every record it links is visible; it is
        # changed by whoever may change the first one.
        condition = live
        for i, name in enumerate(parents):
            parent_action = "change" if (action in WRITE_ACTIONS and i == 0) else "view"
            condition &= visibility_q(user, model._meta.get_field(name).related_model, parent_action,
                                      f"{prefix}{name}__")
        return condition
    any_parents = getattr(model, "access_parents_any", ())
    if any_parents:
        # A record about several others (an interaction about a company and/or a contact) is visible
        # when any record it is about is visible, and changeable when any of them is changeable.
        parent_action = "change" if action in WRITE_ACTIONS else "view"
        condition = NOTHING
        for name in any_parents:
            condition |= visibility_q(user, model._meta.get_field(name).related_model, parent_action,
                                      f"{prefix}{name}__")
        return live & condition
    if g.scope == Scope.ALL:
        return live
    owners = owner_ids_for_scope(user, g.scope)
    # Tuples, not lists: a Q can key a cache of compiled statements, so nothing in it may change later.
    condition = Q(**{f"{prefix}owner_id__in": tuple(sorted(owners))})
    shared = _shared_ids(user, type_key(model), action)
    if shared:
        condition |= Q(**{f"{prefix}pk__in": shared})
    if getattr(model, "pooled", False) and action in POOL_ACTIONS:
        pools = ViewerPools(user.pk, user.team_id) if pools_inline else pool_ids(user)
        if pools_inline or pools:
            # Unowned records in a customer pool (公海) the user belongs to: seen so they can be claimed.
            condition |= Q(**{f"{prefix}owner__isnull": True, f"{prefix}pool_id__in": pools})
    if getattr(model, "team_queue", False) and action in QUEUE_ACTIONS:
        teams = queue_team_ids(user, g.scope)
        if teams:
            # Unassigned records in the queue of a team the user works in or oversees (service tickets).
            condition |= Q(**{f"{prefix}owner__isnull": True, f"{prefix}team_id__in": teams})
    return live & condition


class ViewerPools:
    """The active customer pools a user belongs to, directly or through their team, as a subquery in a
    filter. Compared by value, unlike a queryset: a Q holding it is equal to every Q built the same way for
    the same user and team."""

    def __init__(self, user_id, team_id):
        self.key = (user_id, team_id)

    def __eq__(self, other):
        return isinstance(other, ViewerPools) and other.key == self.key

    def __hash__(self):
        return hash((ViewerPools, self.key))

    def __repr__(self):
        return f"ViewerPools{self.key}"

    def resolve_expression(self, *args, **kwargs):
        return _pools_query(*self.key).values("pk").resolve_expression(*args, **kwargs)


# What membership of a customer pool grants on its unowned records; claiming is a command of its own.
POOL_ACTIONS = {"view"}


def pool_ids(user) -> list:
    """Ids of the active customer pools the user belongs to, directly or through their team (cached)."""
    cache = _cache(user)
    if "pools" not in cache:
        rows = TEAM_POOLS.rows(user.pk, user.team_id) if user.team_id else POOLS.rows(user.pk)
        cache["pools"] = tuple(sorted({pk for (pk,) in rows}))
    return cache["pools"]


# What a team's queue grants its members on its unassigned records (taking one is a `change`).
QUEUE_ACTIONS = {"view", "change", "export", "reveal"}


def queue_team_ids(user, scope) -> list:
    """Teams whose queue the user works from: their own team, the teams they manage, and with visibility
    “subordinates” the teams of everyone below them (cached per scope)."""
    cache = _cache(user).setdefault("queues", {})
    if scope not in cache:
        from .models import Team, User

        teams = {user.team_id} if user.team_id else set()
        teams |= set(Team.objects.filter(manager_id=user.pk).values_list("pk", flat=True))
        if scope == Scope.SUBTREE:
            below = subordinate_ids(user)
            if below:
                teams |= set(User.objects.filter(pk__in=below, team__isnull=False).values_list("team_id", flat=True))
        cache[scope] = tuple(sorted(teams))
    return cache[scope]


def can(user, action, obj) -> bool:
    """Whether `user` may perform `action` on this one record (same rules as the row filter)."""
    if action == "add":
        return allows(user, "add", type(obj))
    return type(obj).all_objects.restrict(user, action).filter(pk=obj.pk).exists()


# -- "why can this user see this record?" ------------------------------------------------------


@dataclass
class Reason:
    granted: bool
    text: str


def explain(user, obj, action="view"):
    """(decision, [Reason]) for one user, record and action, in the order the rules are applied."""
    from .models import RecordShare

    reasons = []
    model = type(obj)
    key = type_key(model)
    if not is_active_user(user):
        return False, [Reason(False, _("The user is inactive."))]
    parents = getattr(model, "access_parents", ())
    binned = [getattr(obj, name) for name in parents if getattr(getattr(obj, name), "deleted_at", None)]
    any_parents = [getattr(obj, name) for name in getattr(model, "access_parents_any", ())]
    any_parents = [p for p in any_parents if p is not None]
    if user.is_superuser and any_parents:
        live = [p for p in any_parents if not getattr(p, "deleted_at", None)]
        if live:
            return True, [Reason(True, _("The user is a superuser: every rule is bypassed."))]
        return False, [Reason(False, _("Every record this one is about is in the recycle bin, so it is hidden."))]
    if user.is_superuser:
        reasons = [Reason(True, _("The user is a superuser: every rule is bypassed."))]
        # ...except that the row filter hides a linked record whose parent is in the recycle bin.
        reasons += [Reason(False, _("Linked record “%(name)s” is in the recycle bin, so this one is hidden.")
                           % {"name": parent}) for parent in binned]
        return not binned, reasons
    role = user.role
    if role is None:
        return False, [Reason(False, _("The user has no role, so no permissions."))]
    g = grant(user, key)
    if action not in g.actions:
        reasons.append(Reason(False, _("Role “%(role)s” does not allow “%(action)s” on %(type)s.") % {
            "role": role, "action": Action(action).label, "type": model._meta.verbose_name_plural}))
        return False, reasons
    reasons.append(Reason(True, _("Role “%(role)s” allows “%(action)s” on %(type)s with visibility “%(scope)s”.") % {
        "role": role, "action": Action(action).label, "type": model._meta.verbose_name_plural,
        "scope": Scope(g.scope).label}))
    if getattr(obj, "deleted_at", None):
        reasons.append(Reason(True, _("The record is in the recycle bin: it shows there, not in lists.")))
    if parents:
        decision = True
        for i, name in enumerate(parents):
            parent = getattr(obj, name)
            parent_action = "change" if (action in WRITE_ACTIONS and i == 0) else "view"
            # Live parents only, as _restrict_by_parents does (can() would include the recycle bin).
            ok = type(parent).objects.restrict(user, parent_action).filter(pk=parent.pk).exists()
            decision &= ok
            if parent in binned:
                text = _("Linked record “%(name)s” is in the recycle bin, so this one is hidden.")
            else:
                text = (_("Linked record “%(name)s”: access granted.") if ok else
                        _("Linked record “%(name)s”: no access, so no access to this one."))
            reasons.append(Reason(ok, text % {"name": parent}))
        return decision, reasons
    if hasattr(model, "access_parents_any"):
        parent_action = "change" if action in WRITE_ACTIONS else "view"
        decision = False
        for parent in any_parents:
            ok = type(parent).objects.restrict(user, parent_action).filter(pk=parent.pk).exists()
            decision |= ok
            reasons.append(Reason(ok, (_("It is about “%(name)s”, which the user may access.") if ok else
                                       _("It is about “%(name)s”, which the user may not access."))
                                  % {"name": parent}))
        if not any_parents:
            reasons.append(Reason(False, _("It is not about any record, so nobody but a superuser sees it.")))
        return decision, reasons
    owner_id = getattr(obj, "owner_id", None)
    decision = False
    if g.scope == Scope.ALL:
        reasons.append(Reason(True, _("Visibility “All”: every record of this type.")))
        decision = True
    elif owner_id == user.pk:
        reasons.append(Reason(True, _("The user owns the record.")))
        decision = True
    elif owner_id is None:
        reasons.append(Reason(False, _("The record has no owner; only visibility “All” covers it.")))
    elif g.scope == Scope.TEAM and owner_id in team_member_ids(user):
        reasons.append(Reason(True, _("The owner is in the user's team.")))
        decision = True
    elif g.scope == Scope.SUBTREE and owner_id in subordinate_ids(user):
        reasons.append(Reason(True, _("The owner is below the user in the organisation.")))
        decision = True
    else:
        reasons.append(Reason(False, _("The owner is outside the user's visibility “%(scope)s”.") % {
            "scope": Scope(g.scope).label}))
    if getattr(model, "pooled", False) and owner_id is None and obj.pool_id:
        ok = action in POOL_ACTIONS and obj.pool_id in pool_ids(user)
        text = (_("It is unowned in customer pool “%(pool)s”, which the user belongs to.") if ok else
                _("It is unowned in customer pool “%(pool)s”, which does not grant this to the user."))
        reasons.append(Reason(ok, text % {"pool": obj.pool}))
        decision |= ok
    if getattr(model, "team_queue", False) and owner_id is None and obj.team_id and g.scope != Scope.ALL:
        ok = action in QUEUE_ACTIONS and obj.team_id in queue_team_ids(user, g.scope)
        text = (_("It is unassigned in the queue of team “%(team)s”, which the user works from.") if ok else
                _("It is unassigned in the queue of team “%(team)s”, which does not grant this to the user."))
        reasons.append(Reason(ok, text % {"team": obj.team}))
        decision |= ok
    shares = RecordShare.objects.filter(record_type=key, record_id=obj.pk).filter(
        Q(user_id=user.pk) | (Q(team_id=user.team_id) if user.team_id else Q(pk__in=[])))
    for share in shares.select_related("user", "team"):
        ok = action in SHARE_ACTIONS.get(share.level, set())
        target = share.user or share.team
        reasons.append(Reason(ok, (_("Shared with %(target)s for “%(level)s”: grants it.") if ok else
                                   _("Shared with %(target)s for “%(level)s”: does not grant this action."))
                              % {"target": target, "level": ShareLevel(share.level).label}))
        decision |= ok
    return decision, reasons
