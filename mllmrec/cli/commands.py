"""Imports every command module so that each registers its commands on the group."""
from mllmrec.cli import (  # noqa: F401
    data_cmd,
    doctor_cmd,  # noqa: F401
    enrich_cmd,  # noqa: F401
    graph_cmd,  # noqa: F401
    neo4j_cmd,
    ops_cmd,  # noqa: F401
    train_cmd,  # noqa: F401
    tune_cmd,  # noqa: F401
)
