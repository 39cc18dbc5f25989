import zoneinfo

from django.utils import timezone, translation


class UserPreferencesMiddleware:
    """Activate the signed-in user's saved language and time zone for every request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            if user.language:
                translation.activate(user.language)
                request.LANGUAGE_CODE = translation.get_language()
            try:
                timezone.activate(zoneinfo.ZoneInfo(user.timezone))
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                timezone.deactivate()
        response = self.get_response(request)
        response.headers.setdefault("Content-Language", translation.get_language())
        return response


class AuditContextMiddleware:
    """Make the request's IP address and user agent available to audit rows written while it runs."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from .audit import reset_request_meta, set_request_meta

        token = set_request_meta(request)
        try:
            return self.get_response(request)
        finally:
            reset_request_meta(token)
