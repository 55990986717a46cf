"""The two assessment grains: :func:`assess_site_service` (one site × one service, from what a crawl saw there)
and :func:`assess_service` (the catalog baseline raised by observations across sites). Pure."""

from __future__ import annotations

from collections.abc import Sequence

from pipelines.catalog.records import Service
from pipelines.glossary import item
from pipelines.risk.model.evidence import (
    _first,
    _Level,
    _merge_locations,
    _observed_identifier,
    _observed_storage,
    _prior_identifier,
    _prior_storage,
    _self_hosted,
)
from pipelines.risk.model.factors import _f4, _f5, _f6, _f7, _f8, _factor, _mitigations, _security
from pipelines.risk.model.inputs import RiskContext, SiteServiceObservation
from pipelines.risk.model.results import Assessment, FactorResult
from pipelines.risk.model.verdict import _finish, _reasons, _to_check, _verdict
from pipelines.risk.transfer import CompanyChain, HostLocation, build_chain, jurisdiction_class, server_class


def _service(ctx: RiskContext, service_id: str) -> Service:
    try:
        return ctx.catalog.by_id[service_id]
    except KeyError:
        raise KeyError(f"service '{service_id}' is not in the catalog") from None


def _chain(ctx: RiskContext, service: Service) -> CompanyChain:
    return build_chain(ctx.catalog, service.company, ctx.dpf, ctx.as_of)


# --------------------------------------------------------------------------------------------------
# the two grains


def assess_site_service(obs: SiteServiceObservation, ctx: RiskContext) -> Assessment:
    """Assess one service on one site from what the crawl saw there (plus the catalog for what a crawl
    cannot see). Pure; raises KeyError if ``obs.service_id`` is not in the catalog."""
    service = _service(ctx, obs.service_id)
    rubric = ctx.rubric
    chain = _chain(ctx, service)
    jur = jurisdiction_class(chain, ctx.countries, ctx.as_of)
    server = server_class(obs.locations, chain, ctx.countries, ctx.as_of) if not _self_hosted(service) else \
        server_class((), chain, ctx.countries, ctx.as_of)
    seen_storage = _observed_storage(obs, service, rubric)
    seen_ident = _observed_identifier(obs, service, rubric)
    browser_clean = obs.method == "browser" and obs.pre_consent and not obs.gated

    def behaviour(seen: _Level | None, prior: _Level, nothing: str) -> _Level:
        if seen is not None:
            return seen
        if browser_clean:
            return _Level("absent", (item(nothing, site=obs.site),), "measured")
        return _Level(prior.level, ((item("static_prior"),) if obs.method == "static" else ()) + prior.items,
                      prior.confidence)

    storage = behaviour(seen_storage, _prior_storage(service, ctx), "browser_no_storage")
    ident = behaviour(seen_ident, _prior_identifier(service, ctx), "browser_no_identifier")
    gated = obs.gated or not obs.pre_consent
    gate = (item("gated_reference", site=obs.site) if obs.gated else
            item("observed_state", state=obs.consent_state, site=obs.site),)

    def scored(code: str, seen: _Level | None, beh: _Level) -> FactorResult:
        if seen is not None and obs.pre_consent:
            return _factor(ctx, code, "present", seen.items, "measured")
        if gated:
            return _factor(ctx, code, "gated", gate, "measured")
        return _factor(ctx, code, beh.level, beh.items, beh.confidence)

    f1 = scored("F1", seen_storage, storage)
    if _self_hosted(service):
        f2 = _factor(ctx, "F2", "absent", (item("self_hosted_requests", site=obs.site),), "catalog-verified")
        f3 = _factor(ctx, "F3", "absent", (item("self_hosted_identifiers"),), "catalog-verified")
    else:
        if gated:
            f2 = _factor(ctx, "F2", "gated", gate, "measured")
        elif obs.loaded_on_page_view:
            f2 = _factor(ctx, "F2", "present", (item("loads_before_consent", site=obs.site,
                                                     requests=_first(list(obs.requests))) if obs.requests else
                                                item("loads_on_page_view", site=obs.site),), "measured")
        else:
            f2 = _factor(ctx, "F2", "absent", (item("referenced_not_loaded", site=obs.site),), "measured")
        f3 = scored("F3", seen_ident, ident)
    f5 = _f5(service, ctx)
    factors = [f1, f2, f3, _f4(service, ctx), f5, _f6(jur, ctx), _f7(server, ctx), _f8(service, ctx)]
    dnt_items = (item("dnt_tested_site", site=obs.site),) if obs.dnt_honoured else ()
    factors += _mitigations(service, ctx, obs.dnt_honoured, dnt_items) + _security(service, ctx)
    reasons = _reasons(service, ctx, storage, ident, f5, jur)
    verdict = _verdict(service, reasons, storage)
    checks = _to_check(service, ctx, factors, jur, server, dnt_tested=obs.dnt_honoured is not None,
                       static_only=obs.method == "static")
    return _finish("site_service", service, obs.site, ctx, factors, reasons, verdict, checks, server, jur, 1)


def assess_service(service_id: str, ctx: RiskContext, observations: Sequence[SiteServiceObservation] = (), *,
                   locations: Sequence[HostLocation] = ()) -> Assessment:
    """Assess a service at the catalog grain: the catalog baseline (embedded as shipped, without a consent
    gate) raised by any observation of ``service_id`` across sites (a behaviour seen before consent on any
    site counts as measured; observations never lower the catalog prior, because one site's configuration
    does not change what the service does elsewhere). ``locations`` adds per-host server locations measured
    independently of a site (the enrichment's host table); they are merged with the observations' locations.
    Pure; raises KeyError for an unknown service id."""
    service = _service(ctx, service_id)
    rubric = ctx.rubric
    obs = [o for o in observations if o.service_id == service_id]
    chain = _chain(ctx, service)
    jur = jurisdiction_class(chain, ctx.countries, ctx.as_of)
    extra = SiteServiceObservation(site="", service_id=service_id, locations=tuple(locations))
    locations = [] if _self_hosted(service) else _merge_locations([*obs, extra])
    server = server_class(locations, chain, ctx.countries, ctx.as_of)
    pre = [o for o in obs if o.pre_consent]
    sites = len({o.site for o in obs})

    def aggregate(found: list[tuple[SiteServiceObservation, _Level]], prior: _Level) -> _Level:
        if not found:
            return prior
        hit_sites = len({o.site for o, _ in found})
        return _Level("present", (item("seen_before_consent", hits=hit_sites, sites=sites),
                                  *found[0][1].items), "measured")

    storage = aggregate([(o, lv) for o in pre if (lv := _observed_storage(o, service, rubric))],
                        _prior_storage(service, ctx))
    ident = aggregate([(o, lv) for o in pre if (lv := _observed_identifier(o, service, rubric))],
                      _prior_identifier(service, ctx))
    f1 = _factor(ctx, "F1", storage.level, storage.items, storage.confidence)
    if _self_hosted(service):
        f2 = _factor(ctx, "F2", "absent", (item("self_hosted_requests", site=None),), "catalog-verified")
        f3 = _factor(ctx, "F3", "absent", (item("self_hosted_identifiers"),), "catalog-verified")
    else:
        loaded = [o for o in pre if o.loaded_on_page_view and not o.gated]
        if loaded:
            f2 = _factor(ctx, "F2", "present", (item(
                "loaded_before_consent", hits=len({o.site for o in loaded}), sites=sites,
                example=_first(list(loaded[0].requests)) if loaded[0].requests else {"items": [loaded[0].site]}),),
                "measured")
        else:
            hosts = [h.lstrip("=") for h in service.hosts]
            f2 = _factor(ctx, "F2", "present", (item("catalog_loads_on_page_view", hosts=_first(hosts)),),
                         "catalog-verified")
        f3 = _factor(ctx, "F3", ident.level, ident.items, ident.confidence)
    f5 = _f5(service, ctx)
    factors = [f1, f2, f3, _f4(service, ctx), f5, _f6(jur, ctx), _f7(server, ctx), _f8(service, ctx)]
    tested = [o.dnt_honoured for o in obs if o.dnt_honoured is not None]
    dnt = None if not tested else all(tested)
    dnt_items = (item("dnt_tested_sites", n=len(tested)),) if dnt else ()
    factors += _mitigations(service, ctx, dnt, dnt_items) + _security(service, ctx)
    reasons = _reasons(service, ctx, storage, ident, f5, jur)
    verdict = _verdict(service, reasons, storage)
    checks = _to_check(service, ctx, factors, jur, server, dnt_tested=bool(tested),
                       static_only=bool(obs) and all(o.method == "static" for o in obs))
    return _finish("service", service, None, ctx, factors, reasons, verdict, checks, server, jur, len(obs))
