"""Page-number pagination: `?page=N&page_size=M`, default 20, larger sizes clamped to 100."""

from rest_framework import pagination


class PageNumberPagination(pagination.PageNumberPagination):
    page_size = 20
    page_size_query_param = "page_size"
    page_size_query_description = "Results per page (default 20; values above 100 are clamped)."
    max_page_size = 100
