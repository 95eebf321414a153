"""`python -m bench.report`: run the benchmark report."""

from bench.report.cli import main

raise SystemExit(main())
