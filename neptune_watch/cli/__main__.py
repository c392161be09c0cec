import sys

from neptune_watch.cli import main

sys.exit(main())
