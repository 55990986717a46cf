"""The curated data, installed as the package ``servicerisk_data`` (read through common.paths)."""
