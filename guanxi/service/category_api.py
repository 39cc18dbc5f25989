"""REST API for the ticket category tree (read by anyone who sees tickets, maintained by administrators,
every change audited as a settings change) and the SLA policies (read-only)."""

from django.db import transaction
from django.db.models import Count
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema

from guanxi.core import access
from guanxi.core.audit import audit_log
from guanxi.core.choices import AuditAction
from guanxi.framework.api import ERRORS, ApiError, Id, InputSchema

from .choices import TicketPriority
from .models import CATEGORY_MAX_DEPTH, SlaPolicy, Ticket, TicketAssignmentRule, TicketCategory

RECORD_TYPE = "service.ticketcategory"
MAX_DEPTH = CATEGORY_MAX_DEPTH  # lists read three levels of parents in one query


class CategoryOut(Schema):
    id: int
    name: str = Field(description="As stored (seeded categories are stored in English).")
    label: str = Field(description="In the reader's language.")
    path: str = Field(description="With its parents, e.g. “Delivery › Late delivery”.")
    parent: int | None = Field(None, alias="parent_id")
    is_active: bool
    position: int
    ticket_count: int = Field(0, description="Tickets filed under it (including the recycle bin).")

    @staticmethod
    def resolve_path(obj):
        return obj.path_label

    @staticmethod
    def resolve_ticket_count(obj):
        return getattr(obj, "ticket_count", 0)


class CategoryListOut(Schema):
    count: int
    items: list[CategoryOut]


class CategoryIn(InputSchema):
    name: str = Field(..., min_length=1, max_length=100)
    parent: Id | None = Field(None, description="Empty: a top-level category.")
    is_active: bool = True
    position: int = Field(0, ge=0, le=1_000_000)


class CategoryPatch(InputSchema):
    name: str | None = Field(None, min_length=1, max_length=100)
    parent: Id | None = Field(None, description="null: make it a top-level category.")
    is_active: bool | None = None
    position: int | None = Field(None, ge=0, le=1_000_000)


class SlaPolicyOut(Schema):
    id: int
    name: str
    label: str
    priority: str = Field(description="Empty: any priority.")
    category: int | None = Field(None, alias="category_id", description="Also applies to its subcategories.")
    first_response_minutes: int = Field(description="In business minutes.")
    resolution_minutes: int = Field(description="In business minutes.")
    warn_before_minutes: int
    calendar: int | None = Field(None, alias="calendar_id", description="Empty: the default calendar.")
    is_active: bool
    position: int

    @staticmethod
    def resolve_label(obj):
        return str(obj)


class SlaPolicyListOut(Schema):
    count: int
    items: list[SlaPolicyOut]


def _require_viewer(user):
    if not access.allows(user, "view", Ticket):
        raise ApiError(403, "forbidden", _("Your role does not allow viewing tickets."))


def _require_admin(user):
    if not access.is_admin(user):
        raise ApiError(403, "forbidden", _("Only administrators can change ticket categories."))


def _invalid(field, message):
    return ApiError(422, "invalid_input", _("Invalid input."), {field: [message]})


def _with_counts(qs):
    return qs.select_related("parent", "parent__parent").annotate(ticket_count=Count("tickets"))


def _clean(category, data):
    """Validate the new name and parent against the tree: no cycles, no duplicate siblings."""
    if "name" in data:
        name = data["name"].strip()
        if not name:
            raise _invalid("name", _("This field cannot be blank."))
        category.name = name
    if "parent" in data:
        parent = None
        if data["parent"] is not None:
            parent = TicketCategory.objects.filter(pk=data["parent"]).first()
            if parent is None:
                raise _invalid("parent", _("No such category."))
        category.parent = parent
    # Walk up from the new parent: reaching the category itself would make a cycle.
    node, depth, seen = category.parent, 1, set()
    while node is not None:
        if category.pk is not None and node.pk == category.pk:
            raise _invalid("parent", _("A category cannot be placed under itself or one of its subcategories."))
        if node.pk in seen:
            break
        seen.add(node.pk)
        depth += 1
        node = node.parent
    if depth + _subtree_height(category) > MAX_DEPTH:
        raise _invalid("parent", _("Categories can be nested at most %(n)d levels deep.") % {"n": MAX_DEPTH})
    siblings = TicketCategory.objects.filter(parent=category.parent, name__iexact=category.name)
    if category.pk is not None:
        siblings = siblings.exclude(pk=category.pk)
    if siblings.exists():
        raise _invalid("name", _("A category with this name already exists at this level."))


def _subtree_height(category):
    """Levels below the category (0 for a leaf or a new category)."""
    if category.pk is None:
        return 0
    children = {}
    for pk, parent in TicketCategory.objects.values_list("pk", "parent_id"):
        children.setdefault(parent, []).append(pk)
    height, level, seen = 0, [category.pk], {category.pk}
    while True:
        level = [c for pk in level for c in children.get(pk, []) if c not in seen]
        if not level:
            return height
        seen.update(level)
        height += 1


def _snapshot(category):
    return {"name": category.name, "parent": category.parent_id, "is_active": category.is_active,
            "position": category.position}


def _audit(actor, category, event, changes=None):
    audit_log(actor=actor, action=AuditAction.SETTINGS_CHANGE, obj=category, record_type=RECORD_TYPE,
              record_id=category.pk, label=category.path_label,
              data={"event": event, **({"changes": changes} if changes else {})})


def _shown(pk):
    return _with_counts(TicketCategory.objects.filter(pk=pk)).get()


categories = Router(tags=["tickets"])


@categories.get("", response={200: CategoryListOut, **ERRORS}, summary="List ticket categories",
                description="The whole tree, parents before their children's siblings by position; inactive ones "
                "too (is_active).", operation_id="ticketcategory_list")
def category_list(request):
    _require_viewer(request.auth)
    items = list(_with_counts(TicketCategory.objects.order_by("position", "id")))
    return {"count": len(items), "items": items}


@categories.get("/{pk}", response={200: CategoryOut, **ERRORS}, summary="Get a ticket category",
                operation_id="ticketcategory_get")
def category_get(request, pk: Id):
    _require_viewer(request.auth)
    found = _with_counts(TicketCategory.objects.filter(pk=pk)).first()
    if found is None:
        raise ApiError(404, "not_found", _("Not found."))
    return found


@categories.post("", response={201: CategoryOut, **ERRORS}, summary="Create a ticket category (administrators)",
                 operation_id="ticketcategory_create")
def category_create(request, payload: CategoryIn):
    _require_admin(request.auth)
    with transaction.atomic():
        category = TicketCategory(is_active=payload.is_active, position=payload.position)
        _clean(category, payload.model_dump())
        category.save()
        _audit(request.auth, category, "created", {k: [None, v] for k, v in _snapshot(category).items()})
    return 201, _shown(category.pk)


@categories.patch("/{pk}", response={200: CategoryOut, **ERRORS},
                  summary="Rename, move, reorder or deactivate a ticket category (administrators)",
                  description="Deactivated categories are no longer offered for new tickets; tickets keep them.",
                  operation_id="ticketcategory_update")
def category_update(request, pk: Id, payload: CategoryPatch):
    _require_admin(request.auth)
    data = payload.model_dump(exclude_unset=True)
    for name in ("name", "is_active", "position"):
        if name in data and data[name] is None:
            data.pop(name)
    with transaction.atomic():
        category = TicketCategory.objects.select_for_update().filter(pk=pk).first()
        if category is None:
            raise ApiError(404, "not_found", _("Not found."))
        before = _snapshot(category)
        _clean(category, data)
        for name in ("is_active", "position"):
            if name in data:
                setattr(category, name, data[name])
        category.save()
        after = _snapshot(category)
        changes = {k: [before[k], v] for k, v in after.items() if before[k] != v}
        if changes:
            _audit(request.auth, category, "updated", changes)
    return _shown(pk)


@categories.delete("/{pk}", response={204: None, **ERRORS}, summary="Delete an unused ticket category "
                   "(administrators)", description="409 category_in_use when tickets, subcategories, SLA policies "
                   "or assignment rules use it; deactivate it instead.", operation_id="ticketcategory_delete")
def category_delete(request, pk: Id):
    _require_admin(request.auth)
    with transaction.atomic():
        category = TicketCategory.objects.select_for_update().filter(pk=pk).first()
        if category is None:
            raise ApiError(404, "not_found", _("Not found."))
        uses = {
            "tickets": Ticket.all_objects.filter(category=category).count(),
            "subcategories": TicketCategory.objects.filter(parent=category).count(),
            "sla_policies": SlaPolicy.objects.filter(category=category).count(),
            "assignment_rules": TicketAssignmentRule.objects.filter(category=category).count(),
        }
        if any(uses.values()):
            raise ApiError(409, "category_in_use", _(
                "This category is used by %(tickets)d tickets, %(subcategories)d subcategories, "
                "%(sla_policies)d SLA policies and %(assignment_rules)d assignment rules; deactivate it "
                "instead.") % uses)
        _audit(request.auth, category, "deleted")
        category.delete()
    return 204, None


sla_policies = Router(tags=["tickets"])


@sla_policies.get("", response={200: SlaPolicyListOut, **ERRORS}, summary="List SLA policies",
                  description="Targets in business minutes; the most specific active policy applies (category "
                  "and priority, then category, then priority, then neither). Priorities: "
                  + ", ".join(TicketPriority.values) + ".", operation_id="slapolicy_list")
def sla_policy_list(request):
    _require_viewer(request.auth)
    items = list(SlaPolicy.objects.order_by("position", "id"))
    return {"count": len(items), "items": items}


router = Router()
router.add_router("/ticket-categories", categories)
router.add_router("/sla-policies", sla_policies)
