#!/usr/bin/env python3
"""Checks the apps' words: zh-CN and English from string resources, never typed into the code.

  Android  res/values/strings.xml (zh-CN, the default) and res/values-en/strings.xml have the same
           names with the same format arguments (%1$s, %2$d …); every R.string.x the Kotlin uses
           exists; no Chinese text in a Kotlin string literal of the app (android/app) outside a
           line marked `i18n: data` (text that is stored or printed, not shown as a label).
  iOS      App/Gridbook/zh-Hans.lproj/Localizable.strings and en.lproj/Localizable.strings have the
           same keys with the same format arguments; every L("key") the Swift uses exists; no
           Chinese text in a Swift string literal of the app outside a line marked `i18n: data`.

Prints one line per problem, then `suite: N passed, M failed` (one check per kind and platform)
and exits 1 if anything failed.

  scripts/check-app-strings.py [--root DIR]
"""

from __future__ import annotations

import argparse
import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
FORMAT = re.compile(r"%(?:\d+\$)?[-+ #0]*\d*(?:\.\d+)?(?:ll|l|h)?[@dsfxXuc]")


def args_of(text: str) -> list[str]:
    """The format arguments of a string, by position, with their types (`%1$s` → `1s`)."""
    out = []
    for i, m in enumerate(FORMAT.finditer(text.replace("%%", "")), start=1):
        spec = m.group(0)
        pos = re.match(r"%(\d+)\$", spec)
        kind = spec[-1]
        kind = {"@": "s", "u": "d", "x": "d", "X": "d", "c": "s"}.get(kind, kind)
        out.append(f"{pos.group(1) if pos else i}{kind}")
    return sorted(out)


def android_strings(path: Path) -> dict[str, str]:
    if not path.is_file():
        return {}
    root = ET.parse(path).getroot()
    return {e.get("name", ""): "".join(e.itertext()) for e in root.findall("string")}


STRINGS_LINE = re.compile(r'^\s*"((?:[^"\\]|\\.)*)"\s*=\s*"((?:[^"\\]|\\.)*)"\s*;\s*$')


def ios_strings(path: Path) -> tuple[dict[str, str], list[str]]:
    """Key → value of a .strings file, and the lines that are neither entries nor comments."""
    out, bad = {}, []
    if not path.is_file():
        return out, [f"{path}: missing"]
    text = re.sub(r"/\*.*?\*/", "", path.read_text(encoding="utf-8"), flags=re.S)
    for n, line in enumerate(text.split("\n"), start=1):
        if not line.strip() or line.strip().startswith("//"):
            continue
        m = STRINGS_LINE.match(line)
        if not m:
            bad.append(f"{path.name}:{n}: not a \"key\" = \"value\"; line")
            continue
        if m.group(1) in out:
            bad.append(f"{path.name}:{n}: {m.group(1)} is there twice")
        out[m.group(1)] = m.group(2)
    return out, bad


def literals(code: str) -> list[tuple[int, str, str]]:
    """(line, literal, whole line) of each string literal outside comments."""
    out = []
    for n, line in enumerate(code.split("\n"), start=1):
        stripped = re.sub(r"//.*$", "", re.sub(r'"(?:[^"\\]|\\.)*"', lambda m: m.group(0).replace("//", "\0\0"), line))
        for m in re.finditer(r'"((?:[^"\\]|\\.)*)"', stripped):
            out.append((n, m.group(1).replace("\0\0", "//"), line))
    return out


def compare(a: dict[str, str], b: dict[str, str], an: str, bn: str) -> list[str]:
    problems = []
    for k in sorted(set(a) - set(b)):
        problems.append(f"{k}: in {an}, not in {bn}")
    for k in sorted(set(b) - set(a)):
        problems.append(f"{k}: in {bn}, not in {an}")
    for k in sorted(set(a) & set(b)):
        if args_of(a[k]) != args_of(b[k]):
            problems.append(f"{k}: arguments {args_of(a[k])} in {an} but {args_of(b[k])} in {bn}")
    return problems


def hard_coded(files: list[Path], root: Path) -> list[str]:
    problems = []
    for p in files:
        text = re.sub(r"/\*.*?\*/", lambda m: "\n" * m.group(0).count("\n"), p.read_text(encoding="utf-8"), flags=re.S)
        for n, lit, line in literals(text):
            if CJK.search(lit) and "i18n: data" not in line:
                problems.append(f"{p.relative_to(root)}:{n}: Chinese text in the code: \"{lit[:40]}\"")
    return problems


def check(root: Path) -> dict[str, list[str]]:
    results: dict[str, list[str]] = {}
    res = root / "android/app/src/main/res"
    kt_files = sorted((root / "android/app/src/main/kotlin").rglob("*.kt"))
    zh, en = android_strings(res / "values/strings.xml"), android_strings(res / "values-en/strings.xml")
    results["android same strings in zh-CN and English"] = compare(zh, en, "values/", "values-en/")
    used = set()
    for p in kt_files:
        used |= set(re.findall(r"\bR\.string\.(\w+)", p.read_text(encoding="utf-8")))
    results["android every R.string exists"] = [f"R.string.{k} is not in values/strings.xml" for k in sorted(used - set(zh))]
    results["android no text in the code"] = hard_coded(kt_files, root)

    app = root / "ios/App/Gridbook"
    zh_ios, bad_zh = ios_strings(app / "zh-Hans.lproj/Localizable.strings")
    en_ios, bad_en = ios_strings(app / "en.lproj/Localizable.strings")
    results["ios same strings in zh-Hans and English"] = bad_zh + bad_en + compare(zh_ios, en_ios, "zh-Hans", "en")
    sw_files = sorted(app.rglob("*.swift"))
    keys = set()
    for p in sw_files:
        code = re.sub(r"/\*.*?\*/", "", p.read_text(encoding="utf-8"), flags=re.S)
        code = "\n".join(re.sub(r'^((?:[^"/]|"(?:[^"\\]|\\.)*"|/(?!/))*)//.*$', r"\1", line) for line in code.split("\n"))
        keys |= set(re.findall(r'\bL\("([^"\\]+)"', code))
    # keys built in code: "field." + name (fieldLabel) and the reminder outcomes' table
    results["ios every L(key) exists"] = [f'L("{k}") is not in zh-Hans.lproj/Localizable.strings' for k in sorted(keys - set(zh_ios))]
    for p in sw_files:
        for k in re.findall(r'\(\.\w+,\s*"([a-z_.]+)"\)', p.read_text(encoding="utf-8")):
            if k not in zh_ios:
                results["ios every L(key) exists"].append(f'"{k}" ({p.name}) is not in zh-Hans.lproj/Localizable.strings')
    results["ios no text in the code"] = hard_coded(sw_files, root)
    return results


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--root", type=Path, default=Path(__file__).resolve().parent.parent)
    root = ap.parse_args(argv).root.resolve()
    passed = failed = 0
    for name, problems in check(root).items():
        if problems:
            failed += 1
            print(f"FAIL {name}: {len(problems)}")
            for p in problems:
                print(f"     {p}")
        else:
            passed += 1
            print(f"ok   {name}")
    print(f"suite: {passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
