"""A distributed run's shared state in Redis: the run record, the site queue, the site dupefilter, heartbeats.

``seed`` creates the run folder and the record and enqueues the accepted domains once; workers
(``crawl --redis``) join the run named by the record, pop domains from the queue through scrapy-redis's
``RedisMixin`` and claim each site in scrapy-redis's ``RFPDupeFilter``; ``seal`` writes the manifest once the
queue is empty, no worker is alive and every accepted domain has a committed row; ``requeue_missing``
re-enqueues the domains a dead worker took with it (scrapy-redis has no acknowledgement).

Keys (all under ``servicerisk:``): ``current`` (id of the newest seeded run), and per run ``<id>:meta``
(hash: options, input, reference data, start time), ``<id>:domains`` (list: the frontier of sites, one JSON
object per domain), ``<id>:dupefilter`` (set of home-request fingerprints), ``<id>:writers`` (set of writer
ids), ``<id>:hb:<writer>`` (a worker's heartbeat, expires after ``SR_REDIS_HEARTBEAT_TTL`` s) and
``<id>:stats`` (hash: the workers' summed ``sr/*`` and Scrapy counters).
"""

from __future__ import annotations

import csv
import json
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import pyarrow.parquet as pq
import redis
import scrapy
from scrapy_redis.dupefilter import RFPDupeFilter

from crawler.paths import DOMAINS, MANIFEST, Layout, check_run_id, new_writer_id, parts

PREFIX = "servicerisk:"
ENQUEUE_CHUNK = 10_000
JOIN_TTL = 60  # a joining worker's first heartbeat, until its HeartbeatExtension takes over
SEALING = "sealing"  # field of <id>:meta while seal checks and writes the manifest


class DistributedError(Exception):
    """A distributed-run command cannot proceed; the message says why and what to do."""


@dataclass(frozen=True)
class Keys:
    """Redis key names of one run."""

    run_id: str

    @property
    def meta(self) -> str:
        return f"{PREFIX}{self.run_id}:meta"

    @property
    def queue(self) -> str:
        return f"{PREFIX}{self.run_id}:domains"

    @property
    def dupefilter(self) -> str:
        return f"{PREFIX}{self.run_id}:dupefilter"

    @property
    def writers(self) -> str:
        return f"{PREFIX}{self.run_id}:writers"

    @property
    def stats(self) -> str:
        return f"{PREFIX}{self.run_id}:stats"

    def heartbeat(self, writer: str) -> str:
        return f"{PREFIX}{self.run_id}:hb:{writer}"


CURRENT = f"{PREFIX}current"


def connect(url: str) -> redis.Redis:
    """A client for ``url`` (``redis://host:port/db``); raises ``DistributedError`` if it does not answer."""
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=10, socket_timeout=30)
        client.ping()
    except (redis.RedisError, ValueError) as e:
        raise DistributedError(f"cannot reach Redis at {url}: {e}") from None
    return client


def site_dupefilter(client: redis.Redis, run_id: str) -> RFPDupeFilter:
    """scrapy-redis's dupefilter on the run's key; a site is claimed by its home request's fingerprint."""
    return RFPDupeFilter(client, key=Keys(run_id).dupefilter)


def home_request(domain: str) -> scrapy.Request:
    """The request whose fingerprint stands for a site in the dupefilter (the first start URL)."""
    return scrapy.Request(f"https://{domain}/")


def entry(domain: str, rank: int | None, line_no: int) -> bytes:
    return json.dumps({"domain": domain, "rank": rank, "line_no": line_no}, separators=(",", ":")).encode()


def parse_entry(data: bytes | str) -> tuple[str, int | None, int]:
    """(domain, rank, line_no) of a queue entry; raises ``ValueError`` for anything else."""
    obj = json.loads(data)
    domain = obj["domain"]
    if not isinstance(domain, str) or not domain:
        raise ValueError("queue entry without a domain")
    rank = obj.get("rank")
    return domain, None if rank is None else int(rank), int(obj.get("line_no") or 0)


def _domain_rows(run_dir: Path) -> Iterator[tuple[str, int | None, int]]:
    with open(run_dir / DOMAINS, newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            yield row["domain"], int(row["rank"]) if row["rank"] else None, int(row["line_no"])


def _push(client: redis.Redis, key: str, entries: Iterator[bytes]) -> int:
    """RPUSH in chunks (one round trip per ``ENQUEUE_CHUNK`` domains); returns how many were pushed."""
    n, chunk = 0, []
    for e in entries:
        chunk.append(e)
        if len(chunk) >= ENQUEUE_CHUNK:
            client.rpush(key, *chunk)
            n, chunk = n + len(chunk), []
    if chunk:
        client.rpush(key, *chunk)
        n += len(chunk)
    return n


def create_run(client: redis.Redis, run_id: str, run_dir: Path, options: dict[str, Any], recorded: dict[str, Any],
               input_info: dict, reference_data: dict, started_at: str) -> int:
    """Record the run in Redis, make it current and enqueue its accepted domains; returns how many."""
    keys = Keys(run_id)
    if client.exists(keys.meta):
        raise DistributedError(f"run {run_id} already exists in Redis")
    client.hset(keys.meta, mapping={
        "run_id": run_id,
        "options": json.dumps(options),
        "recorded": json.dumps(recorded),
        "input": json.dumps(input_info),
        "reference_data": json.dumps(reference_data),
        "started_at": started_at,
    })
    n = _push(client, keys.queue, (entry(*row) for row in _domain_rows(run_dir)))
    client.hset(keys.meta, "enqueued", n)
    client.set(CURRENT, run_id)
    return n


@dataclass
class RunRecord:
    run_id: str
    options: dict[str, Any]
    recorded: dict[str, Any]  # the settings the manifest records (as seed computed them)
    input_info: dict[str, Any]
    reference_data: dict[str, Any]
    started_at: str


def load_run(client: redis.Redis, run_id: str | None) -> RunRecord:
    """The record of ``run_id`` (default: the newest seeded run); raises ``DistributedError``."""
    if run_id is None:
        current = client.get(CURRENT)
        if current is None:
            raise DistributedError("no run in Redis: create one with `servicerisk seed --redis URL DOMAINS`")
        run_id = current.decode()
    meta = client.hgetall(Keys(check_run_id(run_id)).meta)
    if not meta:
        raise DistributedError(f"no run {run_id} in Redis")
    m = {k.decode(): v.decode() for k, v in meta.items()}
    return RunRecord(run_id, json.loads(m["options"]), json.loads(m["recorded"]), json.loads(m["input"]),
                     json.loads(m["reference_data"]), m["started_at"])


def run_dir_for(out: Path, run_id: str) -> Path:
    """The run folder under ``out`` (shared by every worker); raises ``DistributedError`` if absent or sealed."""
    run_dir = Layout(out).run_dir(run_id)
    if not (run_dir / DOMAINS).is_file():
        raise DistributedError(f"run {run_id} has no folder under {Layout(out).raw}: every worker needs the "
                               "output folder seed wrote (shared storage)")
    if (run_dir / MANIFEST).is_file():
        raise DistributedError(f"run {run_id} is sealed; nothing to do")
    return run_dir


def join(client: redis.Redis, run_id: str) -> str:
    """Register a new writer id for this worker (unique among the run's writers) and its first heartbeat.

    The heartbeat is set *before* looking for a seal in progress, and ``seal`` marks itself *before* looking
    for heartbeats: of a worker joining and a seal running at the same time, at least one sees the other, so no
    worker writes parts into a sealed run. Raises ``DistributedError`` if the run is being sealed."""
    keys = Keys(run_id)
    while True:
        writer = new_writer_id()
        if client.sadd(keys.writers, writer):
            break
    client.set(keys.heartbeat(writer), worker_info(writer, 0, 0), ex=JOIN_TTL)
    if client.hexists(keys.meta, SEALING):
        client.delete(keys.heartbeat(writer))
        raise DistributedError(f"run {run_id} is being sealed; nothing to do")
    return writer


def worker_info(writer: str, in_flight: int, sites_done: int) -> bytes:
    return json.dumps({"writer": writer, "host": socket.gethostname(), "in_flight": in_flight,
                       "sites_done": sites_done}).encode()


def live_workers(client: redis.Redis, run_id: str) -> list[dict]:
    """Heartbeats of the workers that are alive (a killed worker's expires after its TTL)."""
    keys = Keys(run_id)
    writers = sorted(w.decode() for w in client.smembers(keys.writers))
    beats = client.mget([keys.heartbeat(w) for w in writers]) if writers else []
    return [json.loads(raw) for raw in beats if raw is not None]


def add_stats(client: redis.Redis, run_id: str, stats: dict[str, Any]) -> None:
    """Add a finished worker's integer counters to the run's summed stats."""
    ints = {k: v for k, v in stats.items() if isinstance(v, int) and not isinstance(v, bool)}
    if ints:
        with client.pipeline() as pipe:
            for k, v in ints.items():
                pipe.hincrby(Keys(run_id).stats, k, v)
            pipe.execute()


def summed_stats(client: redis.Redis, run_id: str) -> dict[str, int]:
    return {k.decode(): int(v) for k, v in client.hgetall(Keys(run_id).stats).items()}


def _describe(workers: list[dict]) -> str:
    return ", ".join(f"{w['writer']}@{w['host']} ({w['in_flight']} site(s) open)" for w in workers)


def check_quiet(client: redis.Redis, run_id: str, what: str, *, queue_empty: bool = True) -> None:
    """Raise unless no worker is alive and (with ``queue_empty``) the queue is empty."""
    queued = client.llen(Keys(run_id).queue)
    if queue_empty and queued:
        raise DistributedError(f"cannot {what}: {queued} domain(s) still queued; start workers "
                               "(`servicerisk crawl --redis URL --out DIR`)")
    workers = live_workers(client, run_id)
    if workers:
        raise DistributedError(f"cannot {what}: {len(workers)} worker(s) still running: {_describe(workers)} "
                               "(a killed worker's heartbeat expires after SR_REDIS_HEARTBEAT_TTL seconds)")


def queued_domains(client: redis.Redis, run_id: str) -> set[str]:
    """Domains waiting in the run's queue (read in chunks; stable only while no worker is alive)."""
    key, out = Keys(run_id).queue, set()
    for start in range(0, client.llen(key), ENQUEUE_CHUNK):
        for data in client.lrange(key, start, start + ENQUEUE_CHUNK - 1):
            try:
                out.add(parse_entry(data)[0])
            except (ValueError, KeyError, TypeError):
                continue
    return out


def missing_domains(run_dir: Path) -> list[tuple[str, int | None, int]]:
    """Accepted domains with no row in the committed ``sites`` parts (half-written batches removed first)."""
    from crawler.ledger import clean_incomplete, done_domains

    clean_incomplete(run_dir)
    done = done_domains(run_dir)
    return [row for row in _domain_rows(run_dir) if row[0] not in done]


def requeue_missing(client: redis.Redis, run_id: str, run_dir: Path) -> int:
    """Re-enqueue every accepted domain that has no committed row and is not queued (clearing its dupefilter
    claim) once no worker is alive; returns how many. Raises ``DistributedError``."""
    check_quiet(client, run_id, "requeue", queue_empty=False)
    queued = queued_domains(client, run_id)
    missing = [row for row in missing_domains(run_dir) if row[0] not in queued]
    dupefilter = site_dupefilter(client, run_id)
    fingerprints = [dupefilter.request_fingerprint(home_request(d)) for d, _, _ in missing]
    for i in range(0, len(fingerprints), ENQUEUE_CHUNK):
        client.srem(Keys(run_id).dupefilter, *fingerprints[i:i + ENQUEUE_CHUNK])
    return _push(client, Keys(run_id).queue, (entry(*row) for row in missing))


def check_complete(run_dir: Path) -> None:
    """Raise ``DistributedError`` unless every accepted domain has exactly one committed ``sites`` row
    (call only when no worker is alive: half-written batches are removed first)."""
    missing = missing_domains(run_dir)
    if missing:
        raise DistributedError(f"cannot seal: {len(missing)} domain(s) have no committed row (a worker died?); "
                               "run `servicerisk seed --redis URL --requeue-missing` and start a worker")
    files = parts(run_dir, "sites")
    names = pq.read_table([str(f) for f in files], columns=["input_domain"]).column(0).to_pylist() if files else []
    if len(names) != len(set(names)):
        raise DistributedError(f"cannot seal: {len(names) - len(set(names))} duplicate site row(s) in {run_dir}")


def options_record(opts) -> dict[str, Any]:
    """The run-wide fields of a ``CrawlOptions`` as JSON-able values (``crawler.runner.RUN_OPTIONS``)."""
    from crawler.runner import run_options

    return run_options(opts)
