"""Revenue OS: vendor APIs into a governed Postgres mart, gated by data-quality contracts.

The one library package of the project. DAGs under dags/ stay thin and import from here;
the `revenue-os` command (revenue_os.cli) runs the local stack for operators and tests.
"""

__version__ = "0.1.0"
