"""Imports every command module so that each registers its commands on the group."""
from mllmrec.cli import data_cmd, neo4j_cmd  # noqa: F401
from mllmrec.cli import ops_cmd  # noqa: F401
from mllmrec.cli import graph_cmd  # noqa: F401
from mllmrec.cli import enrich_cmd  # noqa: F401
from mllmrec.cli import train_cmd  # noqa: F401
from mllmrec.cli import doctor_cmd  # noqa: F401
from mllmrec.cli import tune_cmd  # noqa: F401
