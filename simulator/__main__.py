"""Run the vendor simulator until Ctrl-C, for the demo and for tests in other processes.

python -m simulator [--port 8765] [--seed 42] [--now 2025-07-01T00:00:00+00:00]
"""

from __future__ import annotations

import argparse
import threading
from datetime import UTC, datetime

from simulator.server import Simulator
from simulator.world import DEFAULT_SEED


def _aware(value: str) -> datetime:
    ts = datetime.fromisoformat(value)
    return ts if ts.tzinfo is not None else ts.replace(tzinfo=UTC)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m simulator",
        description="Serve every vendor contract from one seeded world on 127.0.0.1.",
    )
    parser.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument(
        "--now",
        type=_aware,
        default=None,
        help="fixed clock (ISO 8601, UTC if no offset); default: real time",
    )
    args = parser.parse_args(argv)

    sim = Simulator(seed=args.seed, now=args.now).start(args.port)
    print(f"vendor simulator (seed {args.seed}) on {sim.url}; admin: {sim.url}/_sim/health")
    print("Point the pipelines at it with:")
    for name, value in sim.source_env().items():
        print(f"  export {name}={value}")
    print("Ctrl-C to stop", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        sim.stop()


if __name__ == "__main__":
    main()
