"""Parties: cross-site by registrable domain, cross-entity by owner (catalog parents + domain owners)."""

from __future__ import annotations

import pytest

from common.hosts import cross_entity, cross_site, registrable_domain
from pipelines.catalog.load import load_catalog
from pipelines.catalog.parties import EntityIndex


@pytest.fixture(scope="module")
def entities():
    return EntityIndex(load_catalog())


def test_registrable_domain_uses_icann_suffixes():
    assert registrable_domain("cdn.livechatinc.com") == "livechatinc.com"
    assert registrable_domain("forums.bbc.co.uk") == "bbc.co.uk"
    assert registrable_domain("fonts.googleapis.com") == "googleapis.com"


def test_cross_site():
    assert not cross_site("www.example.de", "example.de")
    assert cross_site("static.hotjar.com", "www.example.de")


def test_same_entity_across_sites(entities):
    assert cross_site("static01.nyt.com", "www.nytimes.com")
    assert not cross_entity("static01.nyt.com", "www.nytimes.com", entities.entity_of)
    assert not cross_entity("www.gstatic.com", "www.youtube.com", entities.entity_of)


def test_catalog_company_chain_gives_the_entity(entities):
    # Hotjar Ltd's ultimate parent per the catalog; LinkedIn's owner via the catalog chain or owner groups
    assert entities.entity_of("static.hotjar.com") == entities.entity_of("script.hotjar.com")
    assert entities.entity_of("snap.licdn.com") == entities.entity_of("www.bing.com")


def test_unknown_hosts_are_cross_entity(entities):
    assert cross_entity("cdn.unknown-vendor.example", "www.example.de", entities.entity_of)
    assert cross_entity("www.googletagmanager.com", "www.example.de", entities.entity_of)


def test_shared_hosting_domains_belong_to_the_host_not_the_customer(entities):
    # Userlike's widget bucket lives on AWS: the registrable domain is Amazon's, never Userlike's
    owner = entities.entity_of("userlike-cdn-widgets.s3-eu-west-1.amazonaws.com")
    assert owner and "amazon" in owner
    assert owner != entities.entity_of("www.userlike.com")
