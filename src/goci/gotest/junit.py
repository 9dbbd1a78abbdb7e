"""JUnit XML of a test run, the format test-report services and GitHub apps read.

One ``testsuite`` per package, one ``testcase`` per test (subtests included, named with their
slash path). A package that did not build becomes a suite with one errored case carrying the
compiler output, so a build failure is never mistaken for "no tests". Flaky tests pass and
carry a ``flakyFailure`` element (the Surefire extension) with the first failure's output.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

from goci.gotest.results import PackageResult, TestRun
from goci.tools.atomic import write_atomic

_INVALID_XML = re.compile(r"[^\x09\x0A\x0D\x20-\uD7FF\uE000-\uFFFD\U00010000-\U0010FFFF]")


def _clean(text: str) -> str:
    return _INVALID_XML.sub("\ufffd", text)


def _suite(result: PackageResult) -> ET.Element:
    package = result.package.import_path
    suite = ET.Element("testsuite", name=package)
    failures = errors = skipped = 0
    if result.outcome in ("build-fail", "error"):
        errors = 1
        case = ET.SubElement(suite, "testcase", classname=package, name="[build failed]", time="0")
        what = "build failed" if result.outcome == "build-fail" else "go test failed to run"
        error = ET.SubElement(case, "error", message=f"{package}: {what}", type=result.outcome)
        error.text = _clean(result.build_output or result.output)
    for test in result.tests:
        case = ET.SubElement(
            suite, "testcase", classname=package, name=test.name, time=f"{test.elapsed:.3f}"
        )
        if test.file:
            case.set("file", test.file)
            case.set("line", str(test.line))
        if test.outcome == "fail":
            failures += 1
            failure = ET.SubElement(
                case, "failure", message=_clean(test.message or "failed"), type="fail"
            )
            failure.text = _clean(test.output)
        elif test.outcome == "skip":
            skipped += 1
            ET.SubElement(case, "skipped", message="skipped").text = _clean(test.output)
        elif test.flaky:
            flaky = ET.SubElement(
                case, "flakyFailure", message=_clean(test.message or "failed, then passed")
            )
            flaky.text = _clean(test.output)
    if result.outcome == "fail" and not result.failed_tests:
        failures += 1
        case = ET.SubElement(suite, "testcase", classname=package, name="[package]", time="0")
        message = f"{package} failed" + (f": {result.reason}" if result.reason else "")
        failure = ET.SubElement(case, "failure", message=_clean(message), type="fail")
        failure.text = _clean(result.output)
    suite.set("tests", str(len(suite)))
    suite.set("failures", str(failures))
    suite.set("errors", str(errors))
    suite.set("skipped", str(skipped))
    suite.set("time", f"{result.elapsed:.3f}")
    return suite


def render(run: TestRun) -> str:
    root = ET.Element("testsuites", name="go test")
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for result in run.results:
        suite = _suite(result)
        root.append(suite)
        for key in totals:
            totals[key] += int(suite.get(key, "0"))
    for key, value in totals.items():
        root.set(key, str(value))
    root.set("time", f"{sum(r.elapsed for r in run.results):.3f}")
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def write(run: TestRun, path: Path) -> Path:
    write_atomic(path, render(run))
    return path
