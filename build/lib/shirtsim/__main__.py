import sys

from shirtsim.cli.main import main

sys.exit(main())
