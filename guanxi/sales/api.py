"""The sales API: leads, opportunities (with their commands) and the analytics read endpoints."""

from ninja import Router

from .analytics_api import router as analytics_router
from .lead_api import router as lead_router
from .opportunity_api import router as opportunity_router

router = Router()
router.add_router("", lead_router)
router.add_router("", opportunity_router)
router.add_router("", analytics_router)
