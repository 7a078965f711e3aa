import importlib
import pkgutil
import sys
from pathlib import Path

from .harness import Reporter, django_setup


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
    for name in chosen:
        module = importlib.import_module(f"benchmarks.bench_{name}")
        module.run(Reporter(name))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
