"""Service detection measured on hand-labelled real pages (tests/data/detection_eval/labels-*.jsonl).

The labels were written by reading each page's HTML (not from this code); every label carries an evidence
snippet that must occur in the page bytes. Thresholds: service precision >= 95% and recall >= 90%.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from common.hosts import host_of
from crawler.observe import observe
from pipelines.catalog.detect import Detector
from pipelines.catalog.load import load_catalog

ROOT = Path(__file__).resolve().parents[2]
LABEL_DIR = ROOT / "tests" / "data" / "detection_eval"


def _labels() -> list[dict]:
    rows = []
    for path in sorted(LABEL_DIR.glob("labels-*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                rows.append(json.loads(line))
    return rows


LABELS = _labels()
pytestmark = pytest.mark.skipif(not LABELS, reason="no labelled pages yet")


@pytest.fixture(scope="module")
def evaluation(realpages):
    catalog = load_catalog()
    detector = Detector(catalog)
    tp, fp, fn = Counter(), Counter(), Counter()
    examples: dict[str, list[str]] = {}
    for row in LABELS:
        body = (realpages / row["page_file"]).read_bytes()
        url = row["original_url"]
        obs = observe(body, url, links=False)
        found = {d.service_id for d in detector.detect(site_host=host_of(url), references=obs.references,
                                                      signatures=obs.signatures)}
        truth = {s["id"] for s in row["services"]}
        for sid in found & truth:
            tp[sid] += 1
        for sid in found - truth:
            fp[sid] += 1
            examples.setdefault(f"FP {sid}", []).append(row["page_file"])
        for sid in truth - found:
            fn[sid] += 1
            examples.setdefault(f"FN {sid}", []).append(row["page_file"])
    TP, FP, FN = sum(tp.values()), sum(fp.values()), sum(fn.values())
    precision = TP / (TP + FP) if TP + FP else 1.0
    recall = TP / (TP + FN) if TP + FN else 1.0
    report = (f"pages={len(LABELS)} labels={TP + FN} detections={TP + FP} "
              f"precision={precision:.3f} recall={recall:.3f}\n"
              + "\n".join(f"{k}: {len(v)} e.g. {v[:3]}" for k, v in
                          sorted(examples.items(), key=lambda kv: -len(kv[1]))[:25]))
    (ROOT / ".cache").mkdir(exist_ok=True)
    (ROOT / ".cache" / "detection-eval.txt").write_text(report + "\n", encoding="utf-8")
    return {"precision": precision, "recall": recall, "report": report, "catalog": catalog}


def test_evaluation_set_size_and_language():
    assert len(LABELS) >= 150, len(LABELS)
    german = [r for r in LABELS if r["lang"].lower().startswith("de")]
    assert len(german) >= 60, len(german)
    assert len({r["page_file"] for r in LABELS}) == len(LABELS), "a page is labelled twice"


def test_every_label_has_evidence_in_the_page_bytes(realpages):
    missing = []
    for row in LABELS:
        body = (realpages / row["page_file"]).read_bytes()
        for label in row["services"]:
            ev = label["evidence"]
            if not ev or ev.encode("utf-8") not in body:
                missing.append((row["page_file"], label["id"], ev))
    assert not missing, missing[:10]


def test_labels_use_catalog_ids():
    ids = set(load_catalog().by_id)
    unknown = {(r["page_file"], s["id"]) for r in LABELS for s in r["services"] if s["id"] not in ids}
    assert not unknown, sorted(unknown)[:10]


def test_service_precision(evaluation):
    assert evaluation["precision"] >= 0.95, evaluation["report"]


def test_service_recall(evaluation):
    assert evaluation["recall"] >= 0.90, evaluation["report"]
