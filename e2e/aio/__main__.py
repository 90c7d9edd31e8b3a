"""Runs one aiokafka scenario: python -m aio <scenario> <bootstrap> [args...]"""

import asyncio
import os
import sys

from common import fail

from aio.admin import admin
from aio.client import Aio, within
from aio.groups import share
from aio.records import codecs, idempotent
from aio.transactions import transactions

SCENARIOS = {
    "idempotent": idempotent,
    "codecs": codecs,
    "share": share,
    "transactions": transactions,
    "admin": admin,
}

# A whole scenario, within the harness's 120 s for a client.
SCENARIO_SECONDS = 100


def main():
    if os.environ.get("E2E_DEBUG"):  # the client's own logs, for diagnosis
        import logging

        logging.basicConfig(level=logging.DEBUG, format="%(asctime)s %(name)s %(message)s")
    if len(sys.argv) < 3 or sys.argv[1] not in SCENARIOS:
        fail(f"usage: python -m aio {'|'.join(SCENARIOS)} <bootstrap> [args]")
    name, bootstrap, args = sys.argv[1], sys.argv[2], sys.argv[3:]
    scenario = SCENARIOS[name](Aio(bootstrap), *args)
    asyncio.run(within(f"the {name} scenario", scenario, SCENARIO_SECONDS))
    print(f"ok: aiokafka {name}", flush=True)


main()
