"""servicerisk's crawler: Scrapy glue over pure observation functions."""

__version__ = "0.1.0"
