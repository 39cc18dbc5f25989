"""Ticket pages beyond the generic ones: the detail page's conversation and the command buttons."""


def ticket_detail_context(obj, request):
    return {}
