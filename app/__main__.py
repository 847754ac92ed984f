"""`python -m app`: the app's command line."""

from app.cli import main

raise SystemExit(main())
