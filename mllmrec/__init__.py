"""mllmrec: MLLMRec (arXiv 2508.15304) backed by Neo4j.

Stages, in the order data flows: ingest -> describe -> profile -> embed -> build-graph ->
train -> recommend. Neo4j holds every stage's inputs and outputs.
"""
__version__ = "0.1.0"
