"""Writes with domain meaning for the organisation: roles and their permission grid, users, departments,
teams, and record sharing. Each is one transaction that writes exactly one audit row when something
changed (ROLE_CHANGE, ORG_CHANGE, SHARE_CHANGE), and checks the actor itself so that every caller
(view, API, command) gets the same rule.
"""

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from .access import can, is_admin
from .audit import audit_log
from .choices import Action, AuditAction, Scope, ShareLevel
from .models import Department, RecordShare, Role, RolePermission, Team, User

ROLE_FIELDS = ("name", "description", "is_admin", "can_read_audit")
USER_FIELDS = ("display_name", "email", "role", "team", "manager", "is_active", "language")
DEPARTMENT_FIELDS = ("name", "parent", "manager")
TEAM_FIELDS = ("name", "department", "manager")
# A permission grid row that does not exist grants nothing; it compares equal to this.
EMPTY_GRANT = {"actions": [], "scope": Scope.OWN.value}


def _require_admin(actor):
    if not is_admin(actor):
        raise PermissionDenied


def _plain(value):
    """A JSON-friendly value for the audit log: related objects as {id, label}."""
    if isinstance(value, models.Model):
        return {"id": value.pk, "label": str(value)}
    return value


def _snapshot(obj, names):
    return {name: _plain(getattr(obj, name)) for name in names}


def _changes(before, after):
    return {k: [before.get(k), v] for k, v in after.items() if before.get(k) != v}


def _check_fields(fields, allowed):
    unknown = set(fields) - set(allowed)
    if unknown:
        raise ValueError(f"fields not editable here: {sorted(unknown)}")


def _ensure_an_admin_remains():
    """Nobody could repair the organisation from the UI if the last administrator went away."""
    admins = User.objects.filter(is_active=True).filter(Q(is_superuser=True) | Q(role__is_admin=True))
    if not admins.exists():
        raise ValidationError(_("At least one active administrator must remain."))


# -- roles and the permission grid --------------------------------------------------------------


def _grant_dict(row):
    if row is None:
        return dict(EMPTY_GRANT)
    return {"actions": [a for a in Action.values if a in (row.actions or [])], "scope": row.scope}


def _clean_permissions(permissions):
    """{record type: (actions, scope)} -> {record type: {"actions": [...in Action order], "scope": ...}}."""
    from guanxi.framework import registry

    known = {rt.key for rt in registry.all_types()}
    cleaned = {}
    for key, (actions, scope) in (permissions or {}).items():
        if key not in known:
            raise ValidationError(_("Unknown record type “%(type)s”.") % {"type": key})
        actions = set(actions or ())
        if actions - set(Action.values):
            raise ValidationError(_("Unknown action."))
        if scope not in Scope.values:
            raise ValidationError(_("Unknown visibility."))
        cleaned[key] = {"actions": [a for a in Action.values if a in actions], "scope": scope}
    return cleaned


def _apply_permissions(role, permissions):
    """Write the grid; returns {record type: [before, after]} of what changed.

    Rows are kept (with no actions) rather than deleted: a deleted row of a default role would be
    filled in again with the default grant by `ensure_default_roles` after the next migration.
    """
    existing = {p.record_type: p for p in role.permissions.select_for_update()}
    changes = {}
    for key, after in _clean_permissions(permissions).items():
        row = existing.get(key)
        before = _grant_dict(row)
        if row is None:
            RolePermission.objects.create(role=role, record_type=key, actions=after["actions"], scope=after["scope"])
        elif before != after:
            row.actions, row.scope = after["actions"], after["scope"]
            row.save(update_fields=["actions", "scope"])
        if before != after:
            changes[key] = [before if row is not None else None, after]
    return changes


def _role_audit(*, actor, role, data):
    audit_log(actor=actor, action=AuditAction.ROLE_CHANGE, record_type="core.role", record_id=role.pk,
              label=str(role), data=data)


@transaction.atomic
def role_create(*, actor, code, name, description="", is_admin=False, can_read_audit=False, permissions=None):
    """A new role with its permission grid ({record type: (actions, scope)})."""
    _require_admin(actor)
    role = Role(code=code, name=name, description=description, is_admin=is_admin, can_read_audit=can_read_audit)
    role.full_clean()
    role.save()
    grid = _apply_permissions(role, permissions)
    _role_audit(actor=actor, role=role, data={
        "operation": "create",
        "changes": _changes({}, _snapshot(role, ("code",) + ROLE_FIELDS)),
        "permissions": grid,
    })
    return role


@transaction.atomic
def role_update(*, actor, role, fields=None, permissions=None):
    """Change a role's fields and/or permission grid; one audit row with every before/after."""
    _require_admin(actor)
    fields = fields or {}
    _check_fields(fields, ROLE_FIELDS)
    role = Role.objects.select_for_update().get(pk=role.pk)
    before = _snapshot(role, ROLE_FIELDS)
    for name, value in fields.items():
        setattr(role, name, value)
    role.full_clean()
    role.save()
    changes = _changes(before, _snapshot(role, ROLE_FIELDS))
    grid = _apply_permissions(role, permissions) if permissions is not None else {}
    if "is_admin" in changes:
        _ensure_an_admin_remains()
    if changes or grid:
        _role_audit(actor=actor, role=role, data={"operation": "update", "changes": changes, "permissions": grid})
    return role


@transaction.atomic
def role_delete(*, actor, role):
    _require_admin(actor)
    role = Role.objects.select_for_update().get(pk=role.pk)
    n = role.users.count()
    if n:
        raise ValidationError(
            _("This role is still given to %(n)d users; give them another role first.") % {"n": n})
    grid = {p.record_type: [_grant_dict(p), None] for p in role.permissions.all()}
    names = ("code",) + ROLE_FIELDS
    _role_audit(actor=actor, role=role, data={
        "operation": "delete",
        "changes": _changes(_snapshot(role, names), dict.fromkeys(names)),
        "permissions": grid,
    })
    role.delete()


# -- users --------------------------------------------------------------------------------------


def manager_chain_loops(user_pk, manager_pk):
    """Whether making `manager_pk` the manager of `user_pk` would close a loop in the reporting chain."""
    if manager_pk is None:
        return False
    managers = dict(User.objects.values_list("pk", "manager_id"))
    node, seen = manager_pk, set()
    while node is not None and node not in seen:
        if node == user_pk:
            return True
        seen.add(node)
        node = managers.get(node)
    return False


def _org_audit(*, actor, record_type, obj, operation, changes):
    audit_log(actor=actor, action=AuditAction.ORG_CHANGE, record_type=record_type, record_id=obj.pk,
              label=str(obj), data={"operation": operation, "changes": changes})


@transaction.atomic
def user_create(*, actor, username, password, display_name="", email="", role=None, team=None, manager=None,
                is_active=True, language=None):
    """A new user with an initial password (checked by the configured password validators)."""
    _require_admin(actor)
    user = User(username=username, display_name=display_name, email=email, role=role, team=team,
                manager=manager, is_active=is_active)
    if language:
        user.language = language
    user.set_unusable_password()  # full_clean needs a value; the real one is set below
    user.full_clean()
    validate_password(password, user=user)
    user.set_password(password)
    user.save()
    # The password (even hashed) stays out of the log.
    _org_audit(actor=actor, record_type="core.user", obj=user, operation="create",
               changes=_changes({}, _snapshot(user, ("username",) + USER_FIELDS)))
    return user


@transaction.atomic
def user_update(*, actor, user, fields):
    """Change a user's display name, email, role, team, manager, active flag or language."""
    _require_admin(actor)
    _check_fields(fields, USER_FIELDS)
    user = User.objects.select_for_update().get(pk=user.pk)
    if user.is_superuser and not actor.is_superuser:
        # A superuser bypasses every rule; only another superuser may change one.
        raise ValidationError(_("Only a superuser can change a superuser's account."))
    before = _snapshot(user, USER_FIELDS)
    for name, value in fields.items():
        setattr(user, name, value)
    if "manager" in fields and manager_chain_loops(user.pk, user.manager_id):
        raise ValidationError({"manager": _("This manager would make the reporting chain a loop.")})
    user.full_clean(exclude=["password"])
    user.save()
    changes = _changes(before, _snapshot(user, USER_FIELDS))
    if "role" in changes or "is_active" in changes:
        _ensure_an_admin_remains()
    if changes:
        _org_audit(actor=actor, record_type="core.user", obj=user, operation="update", changes=changes)
    return user


# -- departments and teams ----------------------------------------------------------------------


def _save_org_unit(*, actor, obj, fields, names, record_type):
    _check_fields(fields, names)
    creating = obj.pk is None
    before = {} if creating else _snapshot(type(obj).objects.select_for_update().get(pk=obj.pk), names)
    for name, value in fields.items():
        setattr(obj, name, value)
    obj.full_clean()  # Department.clean rejects a parent that would make the tree a cycle
    obj.save()
    changes = _changes(before, _snapshot(obj, names))
    if creating or changes:
        _org_audit(actor=actor, record_type=record_type, obj=obj, operation="create" if creating else "update",
                   changes=changes)
    return obj


@transaction.atomic
def department_save(*, actor, department=None, fields):
    """Create (department=None) or change a department: name, parent, manager."""
    _require_admin(actor)
    return _save_org_unit(actor=actor, obj=department or Department(), fields=fields, names=DEPARTMENT_FIELDS,
                          record_type="core.department")


@transaction.atomic
def department_delete(*, actor, department):
    """Only an empty department (no sub-departments, no teams) can be deleted."""
    _require_admin(actor)
    department = Department.objects.select_for_update().get(pk=department.pk)
    if department.children.exists() or department.teams.exists():
        raise ValidationError(_("Move or delete its sub-departments and teams first."))
    _org_audit(actor=actor, record_type="core.department", obj=department, operation="delete",
               changes=_changes(_snapshot(department, DEPARTMENT_FIELDS), dict.fromkeys(DEPARTMENT_FIELDS)))
    department.delete()


@transaction.atomic
def team_save(*, actor, team=None, fields):
    """Create (team=None) or change a team: name, department, manager."""
    _require_admin(actor)
    return _save_org_unit(actor=actor, obj=team or Team(), fields=fields, names=TEAM_FIELDS,
                          record_type="core.team")


@transaction.atomic
def team_delete(*, actor, team):
    """Only a team without members can be deleted; records shared with it are unshared (and logged)."""
    _require_admin(actor)
    team = Team.objects.select_for_update().get(pk=team.pk)
    if team.members.exists():
        raise ValidationError(_("Move its members to another team first."))
    shares = [{"record_type": s.record_type, "record_id": s.record_id, "level": s.level}
              for s in team.shares.all()]
    audit_log(actor=actor, action=AuditAction.ORG_CHANGE, record_type="core.team", record_id=team.pk,
              label=str(team), data={
                  "operation": "delete",
                  "changes": _changes(_snapshot(team, TEAM_FIELDS), dict.fromkeys(TEAM_FIELDS)),
                  "shares_removed": shares,
              })
    team.delete()


# -- sharing -------------------------------------------------------------------------------------


def _share_target(share):
    return ({"type": "user", "id": share.user_id, "label": str(share.user)} if share.user_id else
            {"type": "team", "id": share.team_id, "label": str(share.team)})


def _check_shareable(actor, obj):
    from guanxi.framework import registry

    if not registry.get(type(obj)).has_owner:
        raise ValidationError(_("Records of this type take their access from linked records and cannot be shared."))
    if not can(actor, "change", obj):
        raise PermissionDenied


@transaction.atomic
def record_share(*, actor, obj, level, user=None, team=None):
    """Share a record with one user or one team for reading or editing (a second share changes the level)."""
    _check_shareable(actor, obj)
    if (user is None) == (team is None):
        raise ValidationError(_("Share with either a user or a team."))
    if level not in ShareLevel.values:
        raise ValidationError({"level": _("Unknown access level.")})
    if user is not None:
        if not user.is_active:
            raise ValidationError({"user": _("This user is inactive.")})
        if user.pk == getattr(obj, "owner_id", None):
            raise ValidationError({"user": _("This user owns the record already.")})
    key = obj.type_key()
    target = {"user": user} if user is not None else {"team": team}
    share = RecordShare.objects.select_for_update().filter(record_type=key, record_id=obj.pk, **target).first()
    before = share.level if share else None
    if share is None:
        share = RecordShare.objects.create(record_type=key, record_id=obj.pk, level=level, created_by=actor,
                                           **target)
    elif share.level != level:
        share.level = level
        share.save(update_fields=["level"])
    if before != level:
        audit_log(actor=actor, action=AuditAction.SHARE_CHANGE, obj=obj, data={
            "operation": "share", "target": _share_target(share), "level": [before, level]})
    return share


@transaction.atomic
def record_unshare(*, actor, obj, share):
    """Remove one share of `obj`."""
    _check_shareable(actor, obj)
    if share.record_type != obj.type_key() or share.record_id != obj.pk:
        raise ValidationError(_("This share belongs to another record."))
    audit_log(actor=actor, action=AuditAction.SHARE_CHANGE, obj=obj, data={
        "operation": "unshare", "target": _share_target(share), "level": [share.level, None]})
    share.delete()
