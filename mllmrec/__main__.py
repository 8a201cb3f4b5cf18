"""``python -m mllmrec``: the same command as ``mllmrec`` (torchrun launches ranks this way)."""
from mllmrec.cli import main

main()
