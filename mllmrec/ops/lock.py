"""A per-dataset lock held in Neo4j, so two writing stages never run on one dataset at once.

Every command that writes to a dataset (ingest, describe-items, profile-users, embed,
build-graph, train, pipeline run, retrain) holds it for its whole run. The lock is a
``(:Lock {dataset, owner, purpose, acquired_at, expires_at})`` node taken atomically (MERGE,
then a conditional SET under the node's write lock). The owner is ``host:pid:random``. The
holder renews the expiry from a background thread (the heartbeat) while it works. A holder is
*stale* when its heartbeat expired (after ``ttl`` seconds without renewal) or when its process
is gone from this host (killed: no need to wait for the expiry); the next run takes a stale
lock over, and ``status`` reports it as such.
"""
from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from mllmrec.db import Store
from mllmrec.errors import StageError
from mllmrec.provenance import pid_alive

log = logging.getLogger(__name__)

DEFAULT_TTL = 300.0


class LockBusy(StageError):
    """Another process holds the dataset's lock and did not release it in time."""


@dataclass
class HeldLock:
    """A lock this process holds; ``lost`` turns true if a renewal found it gone."""

    dataset: str
    owner: str
    lost: threading.Event


def default_owner() -> str:
    """host:pid:random, so a lock names who holds it and two holders never collide."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def holder_gone(owner: str | None) -> bool:
    """Whether ``owner`` (``host:pid:...``) names a process of this host that no longer runs.
    Holders on other hosts, or not in that form, are judged by their heartbeat only."""
    host, _, rest = (owner or "").partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return False
    return not pid_alive(int(pid))


def lock_info(store: Store, dataset: str) -> dict[str, Any] | None:
    """The dataset's lock as stored (owner, purpose, times, ``live``: heartbeat not expired),
    plus ``gone``: its holder's process no longer runs on this host; or None."""
    rows = store.run("ops/lock_show", dataset=dataset)
    if not rows:
        return None
    return {**rows[0], "gone": holder_gone(rows[0]["owner"])}


def try_acquire(store: Store, dataset: str, owner: str, ttl: float = DEFAULT_TTL,
                purpose: str = "retrain") -> dict[str, Any]:
    """One atomic attempt; the returned row says ``acquired`` and who holds the lock."""
    store.run("ops/lock_schema")
    row = store.run("ops/lock_acquire", dataset=dataset, owner=owner, ttl=float(ttl),
                    purpose=purpose)[0]
    if not row["acquired"] and holder_gone(row["owner"]):
        log.warning("taking over the lock on '%s' from %s (%s): its process is gone",
                    dataset, row["owner"], row["purpose"])
        row = store.run("ops/lock_takeover", dataset=dataset, stale=row["owner"], owner=owner,
                        ttl=float(ttl), purpose=purpose)[0]
    return row


@contextmanager
def dataset_lock(store: Store, dataset: str, *, wait: float = 0.0, ttl: float = DEFAULT_TTL,
                 owner: str | None = None, purpose: str = "retrain",
                 poll: float = 1.0) -> Iterator[HeldLock]:
    """Hold the dataset's lock for the block, renewing it every ttl/3 seconds.

    Waits up to ``wait`` seconds for a busy lock, then raises :class:`LockBusy` naming the
    holder. The lock is released on exit, also when the block raises.
    """
    owner = owner or default_owner()
    deadline = time.monotonic() + wait
    while True:
        row = try_acquire(store, dataset, owner, ttl, purpose)
        if row["acquired"]:
            break
        if time.monotonic() >= deadline:
            raise LockBusy(
                f"another {row['purpose'] or 'run'} holds the lock on dataset '{dataset}' "
                f"(owner {row['owner']}, since {row['acquired_at']}, expires {row['expires_at']} "
                f"unless renewed); waited {wait:.0f}s. Try again when it has finished"
                + (" or pass --wait SECONDS" if purpose in ("retrain", "pipeline run") else ""))
        time.sleep(max(0.0, min(poll, deadline - time.monotonic())))
    log.info("lock on dataset '%s' taken by %s", dataset, owner)
    held = HeldLock(dataset, owner, threading.Event())
    stop = threading.Event()
    renewer = threading.Thread(target=_renew, args=(store, held, ttl, stop), daemon=True,
                               name=f"lock-renew-{dataset}")
    renewer.start()
    failed = True
    try:
        yield held
        failed = False
    finally:
        stop.set()
        renewer.join(timeout=2)
        # After a failure (possibly a lost server) release in one attempt: the lock expires
        # anyway, and the original error must come out now.
        if failed:
            store.try_run("ops/lock_release", dataset=dataset, owner=owner)
        else:
            store.run("ops/lock_release", dataset=dataset, owner=owner)
        log.info("lock on dataset '%s' released by %s", dataset, owner)


def _renew(store: Store, held: HeldLock, ttl: float, stop: threading.Event) -> None:
    while not stop.wait(ttl / 3):
        try:
            if not store.run("ops/lock_renew", dataset=held.dataset, owner=held.owner, ttl=float(ttl)):
                log.error("lock on dataset '%s' was lost (expired and taken over)", held.dataset)
                held.lost.set()
                return
        except Exception as exc:  # a transient network error must not kill the renewer
            log.warning("could not renew the lock on '%s': %s", held.dataset, exc)
