"""``python -m slipway.jobs.worker RUN_ID``: execute one queued run."""

from __future__ import annotations

import logging
import sys

from slipway.core.errors import SlipwayError


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m slipway.jobs.worker RUN_ID", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, stream=sys.stdout,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    from slipway.services import automl
    from slipway.services.workspace import open_workspace
    from slipway.settings import Settings

    ctx = open_workspace(Settings.from_env())
    try:
        automl.execute(ctx, argv[0])
    except SlipwayError as exc:
        logging.getLogger("slipway.worker").error("%s", exc)
        return exc.exit_code
    finally:
        ctx.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
