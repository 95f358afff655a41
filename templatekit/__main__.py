import sys

from templatekit.cli import main

sys.exit(main())
