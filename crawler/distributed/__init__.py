"""Distributed mode: a Redis queue of sites shared by several crawler processes
and the Scrapy spider that reads it."""
