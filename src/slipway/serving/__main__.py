"""``python -m slipway.serving --model-dir D --config-dir C --host H --port P --workers N``."""

import sys

from slipway.serving.process import main

sys.exit(main())
