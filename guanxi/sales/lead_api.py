"""Placeholder until its owner fills it."""

from ninja import Router

router = Router()
