"""The project's own request middleware that is not a rule of one module.

Middleware that enforces a module's rule stays beside that rule (``inputs.CleanQueryMiddleware``,
``security.RequestSizeLimitMiddleware`` and ``security.StaffSessionMiddleware``).
"""

from __future__ import annotations

from .models import request_scope


class DataVersionMiddleware:
    """Each request reads the data version at most once (see :func:`models.request_scope`)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with request_scope():
            return self.get_response(request)
