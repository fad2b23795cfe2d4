"""The page's routes together: the search and its views (pages.py), saved searches and shortlists
(saved_pages.py)."""

from fastapi import APIRouter

from service.http.web import saved_pages
from service.http.web.pages import STATIC_DIR, http_error_page
from service.http.web.pages import router as pages_router

router = APIRouter(include_in_schema=False)
router.include_router(pages_router)
router.include_router(saved_pages.router)

__all__ = ["STATIC_DIR", "http_error_page", "router"]
