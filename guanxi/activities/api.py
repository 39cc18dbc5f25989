"""REST API for activities: interactions, the unified timeline of a company or contact (and tasks).

One `router`, mounted at the API root by guanxi/api.py; each part adds its sub-routers or paths to it.
"""

from ninja import Router

router = Router()
