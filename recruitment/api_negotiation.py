"""The API answers in JSON only: an API serving patients' records has no HTML pages of its own.

DRF's browsable renderer would answer any browser (`Accept: text/html`) with an HTML page holding the data
and forms to change it. It stays for developers with DEBUG on; otherwise a call accepting JSON (a browser's
`*/*` does) gets JSON, and one accepting only HTML gets 406. The schema and its docs page
(drf-spectacular's views) have renderers of their own and are not affected.
"""

from collections.abc import Iterable

from django.conf import settings
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer, BrowsableAPIRenderer
from rest_framework.request import Request


class JsonUnlessDebugNegotiation(DefaultContentNegotiation):
    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        # Read per request, not when settings load: DEBUG is off under tests and may be switched by them.
        offered = [r for r in renderers if settings.DEBUG or not isinstance(r, BrowsableAPIRenderer)]
        chosen: tuple[BaseRenderer, str] = super().select_renderer(request, offered, format_suffix)
        return chosen
