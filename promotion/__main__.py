import sys

from promotion.cli import main

sys.exit(main())
