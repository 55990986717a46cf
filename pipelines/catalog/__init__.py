"""Curated service/company catalog: loading, validation, URL matching and pinned reference data."""
