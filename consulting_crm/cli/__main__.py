"""``python -m consulting_crm.cli``: the crm command without the wrapper script."""

import sys

from consulting_crm.cli import main

sys.exit(main())
