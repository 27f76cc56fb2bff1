from rest_framework.pagination import PageNumberPagination


class Pagination(PageNumberPagination):
    """?page=N&page_size=M; page_size is capped (a larger one gets MAX_PAGE_SIZE rows)."""

    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100
