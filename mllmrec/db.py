"""Connection to Neo4j and the few ways the project talks to it.

- :func:`connect` opens a driver from :class:`~mllmrec.config.Neo4jSettings` (credentials from
  the environment, the config file, or the local server's generated credentials file).
- :meth:`Store.run` runs a named query and returns records as dicts.
- :meth:`Store.write_batches` sends rows in UNWIND batches (thousands per round trip) with a
  progress bar; it is the only way stages write many rows.
"""
from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Literal

import neo4j
from neo4j import GraphDatabase
from neo4j.exceptions import AuthError, ClientError, DriverError, Neo4jError
from tqdm.auto import tqdm

from mllmrec.config import Neo4jSettings
from mllmrec.cypher import query
from mllmrec.errors import DatabaseError

log = logging.getLogger(__name__)


def resolve_password(settings: Neo4jSettings) -> str | None:
    """The configured password, else the one the local server generated at install."""
    if settings.password:
        return settings.password
    from mllmrec.neo4j_server import read_credentials

    return read_credentials(settings.home)


class Store:
    """The project's Neo4j store: a driver bound to one database, with helpers for named
    queries. (Named for what it is to the pipeline, the single source of truth between
    stages; "graph" in this code means a DGL graph or the item-item graph.)"""

    def __init__(self, driver: neo4j.Driver, database: str) -> None:
        self.driver = driver
        self.database = database

    def close(self) -> None:
        self.driver.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def run(self, name: str, **params: Any) -> list[dict[str, Any]]:
        """Run the named query in one auto-committed transaction; return records as dicts."""
        records, _, _ = self.driver.execute_query(
            query(name), parameters_=bolt_params(params), database_=self.database
        )
        return [r.data() for r in records]

    def try_run(self, name: str, **params: Any) -> bool:
        """Run the named query once, without retries, logging instead of raising a failure:
        for bookkeeping after an error (recording a failed run, releasing a lock), which must
        neither hide the original error nor delay it while a lost server is retried."""
        try:
            with self.driver.session(database=self.database) as session:
                session.run(query(name), bolt_params(params)).consume()
            return True
        except (DriverError, Neo4jError, OSError) as exc:
            log.warning("could not run %s after an error: %s", name, describe(exc))
            return False

    def run_text(self, text: str, **params: Any) -> list[dict[str, Any]]:
        """Run query text loaded from elsewhere in ``cypher/`` (e.g. a user-facing explore query)."""
        records, _, _ = self.driver.execute_query(text, parameters_=bolt_params(params),
                                                  database_=self.database)
        return [r.data() for r in records]

    def run_implicit(self, name: str, **params: Any) -> list[dict[str, Any]]:
        """Run the named query as an implicit transaction: needed by
        ``CALL { ... } IN TRANSACTIONS``, which managed transactions refuse."""
        with self.driver.session(database=self.database) as session:
            return [r.data() for r in session.run(query(name), bolt_params(params))]

    def write_batches(
        self,
        name: str,
        rows: Sequence[dict[str, Any]] | Iterable[dict[str, Any]],
        batch_size: int = 10_000,
        desc: str | Literal[False] | None = None,
        total: int | None = None,
        **params: Any,
    ) -> int:
        """Send ``rows`` to the named query as ``$rows`` in batches, each batch one
        transaction. Returns the number of rows sent."""
        if total is None and hasattr(rows, "__len__"):
            total = len(rows)  # type: ignore[arg-type]
        text = query(name)
        sent = 0
        with self.driver.session(database=self.database) as session, tqdm(
            total=total, desc=desc or name, unit="row", disable=desc is False, leave=False
        ) as bar:
            for batch in chunks(rows, batch_size):
                session.execute_write(_run_batch, text, batch, params)
                sent += len(batch)
                bar.update(len(batch))
        return sent

    @contextmanager
    def session(self) -> Iterator[neo4j.Session]:
        with self.driver.session(database=self.database) as s:
            yield s


def _run_batch(tx: neo4j.ManagedTransaction, text: str, batch: list, params: dict) -> None:
    tx.run(text, bolt_params({**params, "rows": batch})).consume()


class _Listed(list[Any]):
    """A list parameter whose repr is its length (see :func:`bolt_params`)."""

    def __repr__(self) -> str:
        return f"<list of {len(self)}>"


def bolt_params(params: dict[str, Any]) -> dict[str, Any]:
    """Query parameters with every list wrapped in a list subclass whose repr is its length.
    The driver's Bolt 5 ``run`` builds its debug log line (``" ".join(map(repr, fields))``)
    before the logger checks its level, so every parameter is formatted on every query: for
    one UNWIND batch of 1,682 384-d vectors that costs 0.6 s of client CPU, several times the
    round trip. What is sent is unchanged (the packer takes any list)."""
    return {k: _Listed(v) if isinstance(v, list) else v for k, v in params.items()}


def chunks(rows: Iterable[Any], size: int) -> Iterator[list[Any]]:
    """Yield lists of at most ``size`` items."""
    batch: list[Any] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


BOLT_SCHEMES = ("bolt", "bolt+s", "bolt+ssc", "neo4j", "neo4j+s", "neo4j+ssc")
_CHECK = "check that the server runs ('mllmrec neo4j status') and NEO4J_URI"


def check_uri(uri: str) -> None:
    """Refuse an address that is not a Bolt/Neo4j URI before the driver sees it (the driver
    would try HTTP with a module that is not installed, or fail with a long message)."""
    scheme, sep, rest = uri.partition("://")
    if not sep or scheme.lower() not in BOLT_SCHEMES or not rest.strip("/"):
        raise DatabaseError(f"NEO4J_URI '{uri}' is not a Neo4j Bolt address: use "
                            "bolt://HOST:PORT or neo4j://HOST:PORT (e.g. bolt://127.0.0.1:7687)")


def connect(settings: Neo4jSettings) -> Store:
    """Open a driver and check that the server answers, accepts the credentials and has the
    database; raise DatabaseError with one line saying what to check otherwise. Every
    failure is reported within about 2 x ``connect_timeout`` + ``retry_seconds``."""
    check_uri(settings.uri)
    password = resolve_password(settings)
    auth = (settings.user, password) if password else None
    # Queries that name a property no node has yet (e.g. `embedding` before `embed` ran) are
    # normal in a staged pipeline; the server's "unrecognized" notifications would be noise.
    driver = GraphDatabase.driver(settings.uri, auth=auth,
                                  notifications_disabled_classifications=["UNRECOGNIZED"],
                                  connection_timeout=settings.connect_timeout,
                                  connection_acquisition_timeout=settings.connect_timeout,
                                  max_transaction_retry_time=settings.retry_seconds)
    try:
        driver.verify_connectivity()
        driver.execute_query("RETURN 1", database_=settings.database)
    except AuthError as exc:
        driver.close()
        raise DatabaseError(
            f"Neo4j at {settings.uri} refused the credentials of user '{settings.user}': "
            "set NEO4J_PASSWORD (or neo4j.password in the config file)"
        ) from exc
    except ClientError as exc:
        driver.close()
        if exc.code == "Neo.ClientError.Database.DatabaseNotFound":
            raise DatabaseError(f"Neo4j at {settings.uri} has no database '{settings.database}': "
                                "set NEO4J_DATABASE (Community edition serves 'neo4j')") from exc
        raise DatabaseError(f"Neo4j at {settings.uri} refused the connection: "
                            f"{describe(exc)}") from exc
    except (DriverError, Neo4jError, OSError, ValueError) as exc:
        driver.close()
        raise DatabaseError(f"cannot reach Neo4j at {settings.uri} ({describe(exc)}); {_CHECK}, "
                            "or start the local server with 'mllmrec neo4j start'") from exc
    return Store(driver, settings.database)


def describe(exc: BaseException) -> str:
    """The driver's message on one line: its last line holds the reason."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return f"{type(exc).__name__}: {lines[-1] if lines else ''}"


def connection_lost(exc: BaseException, uri: str) -> str:
    """The one-line message for a driver error raised in the middle of a command."""
    return f"lost the connection to Neo4j at {uri} ({describe(exc)}); {_CHECK}"
