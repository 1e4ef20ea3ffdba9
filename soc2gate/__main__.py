from soc2gate.cli import main

raise SystemExit(main())
