"""``python -m replicas [SPIDER ...] [--check]``: rebuild the replicas, or check them."""

from replicas.skeleton import main

raise SystemExit(main())
