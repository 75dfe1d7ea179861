from proxima.cli import main

raise SystemExit(main())
