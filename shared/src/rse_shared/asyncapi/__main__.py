from rse_shared.asyncapi.cli import main

raise SystemExit(main())
