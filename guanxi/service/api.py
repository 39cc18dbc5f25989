"""The service API: tickets (CRUD and commands), categories, and the complaint analytics."""

from ninja import Router

router = Router()
