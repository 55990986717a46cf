"""Site-level risk rows name their own site: the build memoises one assessment per distinct observation (many
demo sites load the same fonts or tag manager the same way), and each row's evidence must still say where it was
measured, never the site that happened to come first."""

from __future__ import annotations

import json
from collections import Counter

import duckdb


def test_every_site_level_evidence_names_its_own_site(demo_out):
    with duckdb.connect(str(demo_out / "warehouse.duckdb"), read_only=True) as con:
        rows = con.execute("SELECT site_input, service_id, evidence_items, factors FROM site_service_risk").fetchall()
    shared = Counter(sid for _, sid, _, _ in rows)
    assert max(shared.values()) >= 3, "the demo should have services assessed on several sites (memo hits)"
    named, wrong = 0, []
    for site, sid, items, factors in rows:
        for item in items:
            params = json.loads(item["params"])
            if "site" in params:
                named += 1
                if params["site"] != site:
                    wrong.append((site, sid, item["code"], params["site"]))
        for factor in factors:
            for other in {s for s, _, _, _ in rows} - {site}:
                if f" {other} " in f" {factor['evidence']} ".replace(",", " ").replace("(", " ").replace(")", " "):
                    wrong.append((site, sid, factor["code"], other))
    assert named > len(rows) / 2, "most site-level rows carry a measured-on item with their site"
    assert not wrong, f"evidence naming another site: {wrong[:5]}"
