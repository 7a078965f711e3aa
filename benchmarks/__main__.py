"""``python -m benchmarks [NAME ...]`` (``make bench``): every benchmark, or those named, in turn.

A benchmark whose check fails is reported and the others still run; the exit status is then 1.
"""

import importlib
import pkgutil
import sys
import traceback
from pathlib import Path

from .harness import Reporter, django_setup, stack_describe


def main(argv: list[str]) -> int:
    available = sorted(
        m.name.removeprefix("bench_")
        for m in pkgutil.iter_modules([str(Path(__file__).parent)])
        if m.name.startswith("bench_")
    )
    chosen = argv or available
    unknown = [name for name in chosen if name not in available]
    if unknown:
        print(
            f"Unknown benchmark(s): {', '.join(unknown)}. Available: {', '.join(available)}", file=sys.stderr
        )
        return 2
    django_setup()
    failed = []
    for name in chosen:
        module = importlib.import_module(f"benchmarks.bench_{name}")
        overrides = getattr(module, "STACK_OVERRIDES", None)
        if overrides:  # it starts its own stack: this process's settings are not what it measures
            print(stack_describe(name, overrides), flush=True)
        try:
            module.run(Reporter(name))
        except (Exception, SystemExit):  # a failed check fails the run, after the other benchmarks
            traceback.print_exc()
            failed.append(name)
    if failed:
        print(f"bench FAILED: {', '.join(failed)}", file=sys.stderr, flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
