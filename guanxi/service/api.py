"""The service API: tickets (CRUD and commands), categories, and the complaint analytics."""

from ninja import Router

from .analytics_api import router as analytics_router
from .category_api import router as category_router
from .ticket_api import router as ticket_router

router = Router()
router.add_router("", ticket_router)
router.add_router("", category_router)
router.add_router("", analytics_router)
