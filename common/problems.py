"""One exception for data files that fail validation: it carries every problem, not just the first."""

from __future__ import annotations


class ProblemsError(Exception):
    """Raised with the full list of problems; the message names the first five. Subclasses set ``what``."""

    what = "data"

    def __init__(self, problems: list[str]):
        super().__init__(f"{len(problems)} {self.what} problem(s): " + "; ".join(problems[:5]))
        self.problems = problems
