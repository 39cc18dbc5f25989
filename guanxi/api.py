"""The one ninja API object; each app mounts its router here."""

from ninja import NinjaAPI

from guanxi.activities.api import router as activities_router
from guanxi.customers.api import router as customers_router
from guanxi.framework.api import BrowserSessionAuth, TokenAuth, install_error_handlers

api = NinjaAPI(
    title="Guanxi API",
    version="1",
    description="REST API of Guanxi CRM. Authenticate with `Authorization: Bearer <token>` "
    "(create tokens on your profile page or with `guanxi api_token <username>`) or a browser session.",
    auth=[TokenAuth(), BrowserSessionAuth()],
    urls_namespace="api",
)
install_error_handlers(api)
api.add_router("", customers_router)
api.add_router("", activities_router)
api.add_router("", "guanxi.sales.api.router")
api.add_router("", "guanxi.service.api.router")
api.add_router("/pools", "guanxi.customers.pool_api.router")
api.add_router("/tasks", "guanxi.activities.task_api.router")
api.add_router("/notifications", "guanxi.core.notification_api.router")
