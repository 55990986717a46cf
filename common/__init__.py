"""Shared infrastructure below every stage: data paths, the run-folder contract, host helpers.

No stage owns this package; crawler, enrich, catalog/risk, warehouse and publish/scan import from it, and it
imports from none of them (tests/test_import_flow.py).
"""
