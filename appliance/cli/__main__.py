"""`python -m appliance.cli ...`: the `voicebox` command."""

import sys

from appliance.cli import main

sys.exit(main())
