"""Warehouse benchmark: build all marts from a synthetic 100,000-site run (~3 million resource rows, realistic
service skew, a ~12,000-character privacy policy text for 60 % of the sites) and compare the prevalence
computation in DuckDB with a vectorised pandas groupby on the same Parquet files, in the same run.

Prints build seconds and peak RSS (the build runs in a child process), the prevalence timings (medians), and
the privacy-policy check alone (the build step that reads every policy text) in sites per second.

    .venv/bin/python bench/warehouse.py [--sites 100000] [--refs 30] [--reps 3] [--policy-share 0.6]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from common.manifest import build_manifest, write_manifest  # noqa: E402
from common.runfolder import Layout  # noqa: E402
from common.tables import SCHEMAS, TABLES  # noqa: E402

RUN_ID = "20261101T000000Z-be0c40"


def third_party_pool(rng: np.random.Generator) -> tuple[list[str], np.ndarray]:
    """Hosts of curated catalog services (plus a long tail of unknown hosts) with Zipf-like weights."""
    from pipelines.catalog.load import load_catalog

    hosts = []
    for s in load_catalog().services:
        for h in s.hosts:
            if h != "*" and not h.startswith("="):
                hosts.append("www." + h if h.count(".") == 1 else h)
            elif h.startswith("="):
                hosts.append(h[1:])
    hosts = sorted(set(hosts))
    rng.shuffle(hosts)
    hosts += [f"cdn{k}.tracker{k % 5000}.example-net.com" for k in range(20_000)]
    weights = 1.0 / np.arange(1, len(hosts) + 1) ** 1.1
    return hosts, weights / weights.sum()


def _table(name: str, columns: dict, n: int) -> pa.Table:
    """A crawl table of ``n`` rows from ``columns``; schema columns not given (newer ones) are null."""
    schema = SCHEMAS[name]
    return pa.table({f.name: columns[f.name] if f.name in columns else pa.nulls(n, f.type) for f in schema},
                    schema=schema)


_POLICY_SENTENCES = [
    "Wir verarbeiten personenbezogene Daten nur, soweit dies zur Bereitstellung einer funktionsfähigen Website "
    "erforderlich ist.",
    "Rechtsgrundlage ist Art. 6 Abs. 1 lit. f DSGVO; unser berechtigtes Interesse liegt in der Sicherheit und "
    "Stabilität des Angebots.",
    "Sie haben das Recht auf Auskunft, Berichtigung, Löschung und Einschränkung der Verarbeitung (Art. 15 bis 18 "
    "DSGVO).",
    "Beim Aufruf der Seiten speichert unser Server die IP-Adresse, Datum und Uhrzeit, die aufgerufene Seite und "
    "den Browser in Logdateien, die nach 14 Tagen gelöscht werden.",
    "Soweit Sie eingewilligt haben, ist Rechtsgrundlage Art. 6 Abs. 1 lit. a DSGVO und § 25 Abs. 1 TDDDG; die "
    "Einwilligung ist jederzeit widerrufbar.",
    "Verantwortlicher im Sinne der Datenschutz-Grundverordnung ist der im Impressum genannte Betreiber.",
]


def policy_texts(rng: np.random.Generator, domains: np.ndarray, names: list[str], weights: np.ndarray) -> list[str]:
    """A German privacy policy of ~12,000 characters per site: shared boilerplate in a site-specific order plus
    paragraphs naming 0-6 services (skewed like their prevalence)."""
    out = []
    for d in domains:
        order = rng.permutation(len(_POLICY_SENTENCES))
        body = " ".join(_POLICY_SENTENCES[i] for i in np.tile(order, 14))
        named = np.array(names, dtype=object)[rng.choice(len(names), int(rng.integers(0, 7)), p=weights)]
        paras = "\n".join(f"{n}\nAuf {d} setzen wir {n} ein. Anbieter ist der jeweilige Hersteller." for n in named)
        out.append(f"Datenschutzerklärung\n{body}\n{paras}\n{body[:2000]}")
    return out


def write_run(out: Path, n_sites: int, refs_per_site: int, seed: int = 7, policy_share: float = 0.6) -> Path:
    rng = np.random.default_rng(seed)
    layout = Layout(out)
    run_dir = layout.run_dir(RUN_ID)
    t0 = datetime(2026, 11, 1, tzinfo=timezone.utc)
    tlds = np.array(["de", "com", "at", "ch", "org", "net", "fr"])
    domains = np.array([f"site-{i:06d}.{tlds[i % 7]}" for i in range(n_sites)])
    outcomes = rng.choice(["ok", "dns_error", "timeout", "connect_error", "http_error"], n_sites,
                          p=[0.9, 0.04, 0.02, 0.02, 0.02])
    pool, weights = third_party_pool(rng)
    from pipelines.catalog.load import load_catalog

    names = sorted({sv.name for sv in load_catalog().services})
    name_w = 1.0 / np.arange(1, len(names) + 1) ** 1.1
    n_parts = 20
    for part, idx in enumerate(np.array_split(np.arange(n_sites), n_parts), start=1):
        d = domains[idx]
        ok = outcomes[idx] == "ok"
        n = len(idx)
        sites = _table("sites", {
            "run_id": [RUN_ID] * n, "rank": (idx + 1).astype("int64"), "line_no": (idx + 1).astype("int64"),
            "input_domain": d, "site": d, "final_host": d, "start_url": [f"https://{x}/" for x in d],
            "final_url": [f"https://{x}/" for x in d], "outcome": outcomes[idx],
            "error_class": [None] * n, "detail": [None] * n, "attempts": [[]] * n, "redirect_chain": [[]] * n,
            "cross_site_redirect": [False] * n, "pages_ok": np.where(ok, 5, 0).astype("int32"),
            "pages_failed": np.where(ok, 0, 1).astype("int32"), "method": ["static"] * n,
            "started_at": [t0] * n, "finished_at": [t0] * n,
        }, n)
        ok_domains = d[ok]
        k = len(ok_domains) * refs_per_site
        site_of = np.repeat(ok_domains, refs_per_site)
        third = rng.random(k) < 0.65
        tp_hosts = np.array(pool, dtype=object)[rng.choice(len(pool), k, p=weights)]
        hosts = np.where(third, tp_hosts, site_of)
        paths = rng.choice(["/gtm.js?id=GTM-AB12CD", "/gtag/js?id=G-AB12CD34EF", "/js/app.js", "/img/a.png",
                            "/css/site.css", "/recaptcha/api.js", "/maps/embed?pb=1"], k)
        urls = np.char.add(np.char.add("https://", hosts.astype(str)), paths)
        pages = np.char.add(np.char.add("https://", site_of.astype(str)), rng.choice(["/", "/impressum", "/kontakt"], k))
        res = _table("resources", {
            "run_id": [RUN_ID] * k, "input_domain": site_of, "page_url": pages, "url": urls, "host": hosts.astype(str),
            "element": rng.choice(["script", "img", "link", "iframe"], k), "attribute": ["src"] * k, "rel": [""] * k,
            "inline": np.zeros(k, bool), "declared": np.zeros(k, bool), "gated": np.zeros(k, bool),
            "method": ["static"] * k, "consent_state": ["none"] * k, "signal": ["none"] * k,
        }, k)
        with_policy = ok_domains[rng.random(len(ok_domains)) < policy_share]
        texts = policy_texts(rng, with_policy, names, name_w / name_w.sum())
        m = len(with_policy)
        policies = _table("policy_texts", {
            "run_id": [RUN_ID] * m, "input_domain": with_policy,
            "page_url": [f"https://{x}/datenschutz" for x in with_policy], "page_kind": ["privacy"] * m,
            "lang": ["de"] * m, "chars": [len(t) for t in texts], "truncated": [False] * m, "text": texts,
            "method": ["static"] * m,
        }, m)
        tables = {"sites": sites, "resources": res, "policy_texts": policies}
        for table in TABLES:
            (run_dir / table).mkdir(parents=True, exist_ok=True)
            t = tables.get(table) or pa.Table.from_pylist([], schema=SCHEMAS[table])
            pq.write_table(t, run_dir / table / f"part-wbench-{part:05d}.parquet")
    write_manifest(run_dir, build_manifest(run_id=RUN_ID, kind="crawl", started_at=t0.isoformat(), run_dir=run_dir,
                                           settings={"synthetic": True}, stats={}, input_info={"synthetic": True},
                                           reference_data={}, writers=["wbench"], close_reason="finished"))
    return run_dir


def host_service_map(run_dir: Path) -> pa.Table:
    """host -> service id for every distinct host (the same map both engines join)."""
    import duckdb

    from pipelines.catalog.detect import Detector
    from pipelines.catalog.load import load_catalog

    files = [str(p) for p in sorted((run_dir / "resources").glob("part-*.parquet"))]
    hosts = [h for (h,) in duckdb.sql("SELECT DISTINCT host FROM read_parquet($f)", params={"f": files}).fetchall()]
    det = Detector(load_catalog())
    rows = []
    for h in hosts:
        hit = det.matcher.match_rule(h, "/", first_party=False)
        if hit:
            rows.append((h, hit[0].id))
    return pa.table({"host": [r[0] for r in rows], "service_id": [r[1] for r in rows]})


def prevalence_duckdb(run_dir: Path, hmap: pa.Table):
    import duckdb

    con = duckdb.connect()
    con.register("hmap", hmap)
    res = [str(p) for p in sorted((run_dir / "resources").glob("part-*.parquet"))]
    sites = [str(p) for p in sorted((run_dir / "sites").glob("part-*.parquet"))]
    return con.execute("""
        WITH ok AS (SELECT input_domain FROM read_parquet($sites) WHERE outcome = 'ok'),
             used AS (SELECT DISTINCT r.input_domain, m.service_id FROM read_parquet($res) r
                      JOIN hmap m USING (host) WHERE NOT r.declared AND NOT r.gated)
        SELECT service_id, count(*) AS sites, count(*) / (SELECT count(*) FROM ok) AS share
        FROM used JOIN ok USING (input_domain) GROUP BY service_id ORDER BY sites DESC, service_id
    """, {"sites": sites, "res": res}).fetchall()


def prevalence_pandas(run_dir: Path, hmap: pa.Table):
    import pandas as pd

    res = pd.read_parquet(run_dir / "resources", columns=["input_domain", "host", "declared", "gated"])
    sites = pd.read_parquet(run_dir / "sites", columns=["input_domain", "outcome"])
    ok = sites.loc[sites["outcome"] == "ok", "input_domain"]
    res = res[~res["declared"] & ~res["gated"]]
    used = res.merge(hmap.to_pandas(), on="host")[["input_domain", "service_id"]].drop_duplicates()
    used = used[used["input_domain"].isin(ok)]
    counts = used.groupby("service_id").size()
    out = pd.DataFrame({"sites": counts, "share": counts / len(ok)}).reset_index()
    return out.sort_values(["sites", "service_id"], ascending=[False, True])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sites", type=int, default=100_000)
    ap.add_argument("--refs", type=int, default=33, help="resource rows per ok site")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--policy-share", type=float, default=0.6, help="share of ok sites with a privacy policy text")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="sr-bench-wh-"))
    t = time.perf_counter()
    run_dir = write_run(tmp, args.sites, args.refs, policy_share=args.policy_share)
    n_res = sum(pq.ParquetFile(p).metadata.num_rows for p in (run_dir / "resources").glob("*.parquet"))
    print(f"bench/warehouse.py: synthetic run {args.sites} sites, {n_res:,} resource rows "
          f"(generated in {time.perf_counter() - t:.0f}s), {os.cpu_count()} cores")

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import sys; from pipelines.warehouse.build import build; "
                    "r = build(sys.argv[1]); assert not r.failed_assertions, r.failed_assertions", str(tmp)],
                   check=True, cwd=ROOT)
    build_s = time.perf_counter() - t
    rss_gb = (resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) * 1024 / 2**30
    _ = before
    print(f"build of all marts: {build_s:.1f} s (target < 120 s) {'PASS' if build_s < 120 else 'FAIL'}; "
          f"peak RSS {rss_gb:.2f} GB (target < 4 GB) {'PASS' if rss_gb < 4 else 'FAIL'}")

    # the policy check alone, as the build runs it (its rows are discarded here)
    check = subprocess.run([sys.executable, "-c", """if True:
        import sys, time
        import duckdb
        from pipelines.catalog.longtail import catalog_with_long_tail
        from pipelines.warehouse.policy import write_policy_coverage
        catalog, _ = catalog_with_long_tail()
        con = duckdb.connect(sys.argv[1], read_only=True)
        texts = con.execute("SELECT count(DISTINCT input_domain) FROM raw_policy_texts").fetchone()[0]
        t = time.perf_counter()
        sites = write_policy_coverage(con, sys.argv[2], catalog, lambda rows: None)
        print(sites, texts, time.perf_counter() - t)
        """, str(tmp / "warehouse.duckdb"), RUN_ID], check=True, cwd=ROOT, capture_output=True, text=True)
    sites, texts, secs = check.stdout.split()
    print(f"privacy-policy check: {int(sites):,} sites with services ({int(texts):,} with a policy text) in "
          f"{float(secs):.1f} s = {int(sites) / float(secs):,.0f} sites/s, {float(secs) / max(int(texts), 1) * 1e3:.2f} ms "
          f"per site with a policy text (part of the build above)")

    hmap = host_service_map(run_dir)
    d_times, p_times = [], []
    for _ in range(args.reps):
        t = time.perf_counter()
        d_res = prevalence_duckdb(run_dir, hmap)
        d_times.append(time.perf_counter() - t)
        t = time.perf_counter()
        p_res = prevalence_pandas(run_dir, hmap)
        p_times.append(time.perf_counter() - t)
    assert [(s, n) for s, n, _ in d_res] == list(zip(p_res["service_id"], p_res["sites"], strict=True)), "engines disagree"
    d, p = statistics.median(d_times), statistics.median(p_times)
    print(f"prevalence mart: DuckDB {d:.2f} s, pandas groupby {p:.2f} s on the same Parquet files: "
          f"{p / d:.1f}x (target >= 5x) {'PASS' if p / d >= 5 else 'FAIL'}")


if __name__ == "__main__":
    main()
