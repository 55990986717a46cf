"""Test and benchmark fixtures: the fault and bench webs, their DNS zones, enrichment inputs, network namespaces,
the corpus oracle and the scenarios run in a namespace. Only tests/ and bench/ import this package."""
