from factorgate.cli import main

raise SystemExit(main())
