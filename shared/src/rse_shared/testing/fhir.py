"""HAPI FHIR's instance validator for the tests: one JVM, many resources, errors out.

The validator is deploy/local/fhir-validator.sh's (built once into .local, offline after).
One process serves a whole test session: each resource is one JSON line in, one verdict
line out. `FhirValidator.errors(*resources)` is the one call a test needs; warnings are
kept and listed at the end of the run, since the offline validator cannot settle some
(codes of systems it does not carry, narrative recommended).
"""

from __future__ import annotations

import json
import re
import subprocess
import tempfile
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from rse_shared.testing.names import REPO

SCRIPT = REPO / "deploy" / "local" / "fhir-validator.sh"
ERROR_SEVERITIES = frozenset({"error", "fatal"})


@dataclass(frozen=True)
class Issue:
    """One message of the validator about one resource."""

    severity: str
    location: str
    message: str

    def __str__(self) -> str:
        return f"{self.severity} at {self.location}: {self.message}"


@dataclass(frozen=True)
class Verdict:
    """What the validator said of one resource."""

    resource_type: str | None
    resource_id: str | None
    issues: tuple[Issue, ...]

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.severity in ERROR_SEVERITIES]

    @property
    def warnings(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "warning"]


# The listed warnings are told apart by resource type and element, not by where in which bundle.
_IN_BUNDLE = re.compile(r"Bundle\.entry\[\d+\]\.resource/\*(\w+)/[^*]*\*/\.?")
_INDEX = re.compile(r"\[\d+\]")


def _listed(warning: Issue) -> str:
    location = _INDEX.sub("[n]", _IN_BUNDLE.sub(r"\1.", warning.location)).rstrip(".")
    return f"{location}: {warning.message}"


class FhirValidator:
    """A running `fhir-validator.sh run`, fed one resource per line."""

    def __init__(self, script: Path = SCRIPT) -> None:
        self._stderr: IO[str] = tempfile.TemporaryFile("w+", encoding="utf-8")  # noqa: SIM115
        self._process = subprocess.Popen(
            ["bash", str(script), "run"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
            encoding="utf-8",
        )
        self.warnings: Counter[str] = Counter()

    def verdict(self, resource: Mapping[str, Any]) -> Verdict:
        """Validate one resource (a Bundle is validated with every resource in it)."""
        stdin, stdout = self._process.stdin, self._process.stdout
        assert stdin is not None and stdout is not None
        stdin.write(json.dumps(resource, separators=(",", ":")) + "\n")
        stdin.flush()
        line = stdout.readline()
        if not line:
            raise RuntimeError(f"the FHIR validator stopped:\n{self._stderr_tail()}")
        answer = json.loads(line)
        verdict = Verdict(
            answer.get("resourceType"),
            answer.get("id"),
            tuple(Issue(i["severity"], i["location"], i["message"]) for i in answer["issues"]),
        )
        self.warnings.update(_listed(w) for w in verdict.warnings)
        return verdict

    def errors(self, *resources: Mapping[str, Any]) -> list[str]:
        """Every error the validator finds in `resources`, named by resource; [] when valid."""
        found = []
        for resource in resources:
            verdict = self.verdict(resource)
            name = f"{verdict.resource_type}/{verdict.resource_id}"
            found += [f"{name}: {issue}" for issue in verdict.errors]
        return found

    def _stderr_tail(self) -> str:
        self._stderr.seek(0)
        return "".join(self._stderr.readlines()[-40:])

    def close(self) -> None:
        if self._process.stdin:
            self._process.stdin.close()
        try:
            self._process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        if self._process.stdout:
            self._process.stdout.close()
        self._stderr.close()
