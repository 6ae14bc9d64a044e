"""What the DAGs share: default arguments and the callables their tasks run."""
