#!/usr/bin/env python3
"""Checks the Grafana dashboard against itself, the recording rules and the metrics the
services export.

    check_dashboard.py DASHBOARD_JSON RULES_YML

- the JSON is a dashboard Grafana can load: schemaVersion, a Prometheus datasource
  variable that every panel and query uses, unique panel ids, grid positions inside the
  24-column grid and not overlapping;
- every recorded series a panel queries (level:metric:operations) is recorded in
  rules.yml, so a renamed rule cannot leave a silently empty panel;
- every raw metric that a panel or a rule queries is one the services export (the
  names given to prometheus-cpp in libs/ and services/), so a typo or a rename fails here
  instead of showing "No data";
- with promtool on PATH, every panel query parses as PromQL (Grafana's variables replaced
  by plain values).
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

# The metrics the services export: every name given to a prometheus-cpp builder
# (`.Name("...")`) in libs/ and services/, read from the sources so that a metric renamed
# in the code fails here too, plus Prometheus's own `up`.
SOURCE_ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))


def exported_metrics():
    names = {"up"}
    for top in ("libs", "services"):
        for dirpath, _, files in os.walk(os.path.join(SOURCE_ROOT, top)):
            for name in files:
                if name.endswith((".cc", ".h")):
                    with open(os.path.join(dirpath, name), encoding="utf-8") as f:
                        names.update(re.findall(r'\.Name\("([a-zA-Z_:][a-zA-Z0-9_:]*)"\)', f.read()))
    return names


EXPORTED = exported_metrics()
HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")

# Words in PromQL that look like metric names but are not.
PROMQL_WORDS = {
    "sum", "min", "max", "avg", "count", "stddev", "stdvar", "topk", "bottomk", "quantile",
    "count_values", "group", "by", "without", "on", "ignoring", "group_left", "group_right",
    "and", "or", "unless", "offset", "bool", "rate", "irate", "increase", "delta", "idelta",
    "deriv", "histogram_quantile", "absent", "absent_over_time", "label_values",
    "label_replace", "clamp_min", "clamp_max", "vector", "scalar", "time", "abs", "ceil",
    "floor", "round", "predict_linear", "avg_over_time", "max_over_time", "min_over_time",
    "sum_over_time", "le", "inf", "nan",
}

errors = []


def fail(msg):
    errors.append(msg)


def walk_panels(panels):
    for p in panels:
        yield p
        yield from walk_panels(p.get("panels", []))


def strip_strings_and_selectors(expr):
    """Leaves only the parts of a PromQL expression where metric names can appear."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # string literals (label values)
    expr = re.sub(r"\{[^}]*\}", "{}", expr)  # label matchers
    expr = re.sub(r"\[[^\]]*\]", "[]", expr)  # ranges
    expr = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", expr)
    return expr


def metric_names(expr):
    names = set()
    for word in re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", strip_strings_and_selectors(expr)):
        if word.lower() in PROMQL_WORDS or word.startswith("$"):
            continue
        names.add(word)
    return names


def check_raw(name, where):
    base = name
    for suffix in HISTOGRAM_SUFFIXES:
        if name.endswith(suffix) and name[: -len(suffix)] in EXPORTED:
            base = name[: -len(suffix)]
    if base not in EXPORTED:
        fail(f"{where}: queries {name}, which no service exports")


def grafana_to_promql(expr):
    expr = expr.replace("$__rate_interval", "5m").replace("$__interval", "1m")
    return re.sub(r"\$\{?\w+\}?", ".*", expr)


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    dashboard_path, rules_path = sys.argv[1:]
    with open(dashboard_path) as f:
        dash = json.load(f)
    with open(rules_path) as f:
        rules_text = f.read()

    # Rules: recorded names, and the raw metrics they query.
    recorded = set(re.findall(r"^\s*- record:\s*(\S+)", rules_text, re.M))
    rule_exprs = re.findall(r"^\s*expr:\s*(?:\|\s*\n((?:\s{10,}.*\n?)+)|(.+))", rules_text, re.M)
    for block, line in rule_exprs:
        expr = block or line
        for name in metric_names(expr):
            if ":" in name:
                if name not in recorded:
                    fail(f"rules.yml: uses {name}, which no rule records")
            else:
                check_raw(name, "rules.yml")

    # Dashboard structure.
    if not 36 <= dash.get("schemaVersion", 0) <= 41:
        fail(f"schemaVersion {dash.get('schemaVersion')} is not ~38")
    for key in ("uid", "title", "panels", "templating"):
        if key not in dash:
            fail(f"dashboard has no {key}")
    variables = {v["name"]: v for v in dash.get("templating", {}).get("list", [])}
    ds_var = variables.get("datasource", {})
    if ds_var.get("type") != "datasource" or ds_var.get("query") != "prometheus":
        fail("no `datasource` variable of type datasource/prometheus")

    ids = set()
    occupied = {}
    queries = []
    for p in walk_panels(dash.get("panels", [])):
        title = p.get("title", "?")
        where = f"panel {p.get('id')} '{title}'"
        if p.get("id") in ids:
            fail(f"{where}: duplicate id")
        ids.add(p.get("id"))
        g = p.get("gridPos", {})
        if not all(k in g for k in ("h", "w", "x", "y")) or g["x"] + g["w"] > 24:
            fail(f"{where}: gridPos {g} is missing or wider than the grid")
        else:
            for x in range(g["x"], g["x"] + g["w"]):
                for y in range(g["y"], g["y"] + g["h"]):
                    if (x, y) in occupied:
                        fail(f"{where}: overlaps panel '{occupied[(x, y)]}'")
                        break
                    occupied[(x, y)] = title
                else:
                    continue
                break
        if p.get("type") == "row":
            continue
        if p.get("datasource", {}).get("uid") != "${datasource}":
            fail(f"{where}: datasource is not the ${{datasource}} variable")
        if not p.get("targets"):
            fail(f"{where}: no queries")
        for t in p.get("targets", []):
            if t.get("datasource", {}).get("uid") != "${datasource}":
                fail(f"{where}: query {t.get('refId')} does not use ${{datasource}}")
            expr = t.get("expr", "")
            if not expr.strip():
                fail(f"{where}: query {t.get('refId')} is empty")
                continue
            queries.append((where, expr))
    for v in variables.values():
        if v.get("type") == "query":
            q = v.get("query")
            queries.append((f"variable {v['name']}", q.get("query") if isinstance(q, dict) else q))

    for where, expr in queries:
        body = re.sub(r"^label_values\((.*),\s*\w+\)$", r"\1", expr)
        for name in metric_names(body):
            if ":" in name:
                if name not in recorded:
                    fail(f"{where}: queries {name}, which rules.yml does not record")
            else:
                check_raw(name, where)

    # PromQL syntax, through promtool: each query becomes a recording rule of a temp file.
    promtool = shutil.which("promtool")
    if promtool:
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "dashboard_queries.yml")
            with open(path, "w") as f:
                f.write("groups:\n  - name: dashboard\n    rules:\n")
                for i, (where, expr) in enumerate(queries):
                    body = re.sub(r"^label_values\((.*),\s*\w+\)$", r"\1", expr)
                    f.write(f"      - record: dashboard_query_{i}\n"
                            f"        expr: {json.dumps(grafana_to_promql(body))}\n")
            out = subprocess.run([promtool, "check", "rules", path],
                                 capture_output=True, text=True)
            if out.returncode != 0:
                fail("a panel query is not valid PromQL:\n" + out.stdout + out.stderr)
    else:
        print("note: promtool not found; PromQL syntax of the panels not checked")

    for e in errors:
        print(f"FAIL: {e}")
    print(f"{os.path.basename(dashboard_path)}: {len(ids)} panels, {len(queries)} queries, "
          f"{len(recorded)} recorded series in rules.yml; {len(errors)} problems")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
