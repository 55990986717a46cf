"""The knowledge base: page-data dicts from the warehouse marts and the catalog, rendered to Markdown, HTML, JSON."""

from pipelines.publish.changes import changes_data
from pipelines.publish.page_data import (
    company_page_data,
    index_data,
    methodology_data,
    service_page_data,
)

__all__ = ["changes_data", "company_page_data", "index_data", "methodology_data", "service_page_data"]
