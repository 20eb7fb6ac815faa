"""`python -m medinterp_widgets` is the same as the `medinterp` command."""

from medinterp_widgets.cli import main

raise SystemExit(main())
