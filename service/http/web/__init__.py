"""The web page for PIs and program officers (server-rendered HTML): its router, the search form,
templates and static files."""

from service.http.web.pages import STATIC_DIR, http_error_page, router

__all__ = ["STATIC_DIR", "http_error_page", "router"]
