"""Draft privacy-policy blocks per service (de and en): facts from the catalog and the risk model, words from the glossary."""
