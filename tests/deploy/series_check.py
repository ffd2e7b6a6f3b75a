"""Holds PromQL expressions against a real /metrics page of quantd: every
metric an expression reads must be a series the page has, every label it
matches or groups by must be one those series carry (or one Prometheus adds
to every target), and every label value it names must be one quantd
writes."""

import re

from promql import Reading

# Labels Prometheus attaches to every scraped series: job and instance
# always, the rest from the ServiceMonitor's Kubernetes discovery.
TARGET_LABELS = frozenset("job instance namespace pod service container endpoint".split())
# Series Prometheus makes itself for each target.
SCRAPE_SERIES = {"up": frozenset()}
# grpc_code takes the go-grpc-prometheus names of the 17 gRPC codes; a test
# server cannot be made to answer with each, so the names are listed here.
GRPC_CODES = frozenset("""OK Canceled Unknown InvalidArgument DeadlineExceeded NotFound AlreadyExists
PermissionDenied ResourceExhausted FailedPrecondition Aborted OutOfRange Unimplemented Internal
Unavailable DataLoss Unauthenticated""".split())

_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+\S+')
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:\\.|[^"\\])*)"')
_LITERALS = re.compile(r'[A-Za-z0-9_.:-]+(?:\|[A-Za-z0-9_.:-]+)*')


def parse_page(text):
    """Series name -> {label -> set of values} from Prometheus text format."""
    series = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        match = _SAMPLE.match(line)
        if not match:
            raise ValueError("unreadable sample line %r" % line)
        labels = series.setdefault(match.group(1), {})
        for name, value in _LABEL.findall(match.group(2) or ""):
            labels.setdefault(name, set()).add(value)
    return series


def _domain(series, metric, label):
    values = set(series.get(metric, {}).get(label, ()))
    if label == "grpc_code":
        values |= GRPC_CODES
    return values


def problems(expr, series, variables=frozenset()):
    """What is wrong with expr against the page's series, as strings.
    `variables` are the Grafana variables the expression may use ($name)."""
    try:
        reading = Reading(expr)
    except ValueError as e:
        return [str(e)]
    found = ["uses undefined variable $%s" % v for v in sorted(reading.variables - set(variables))]
    known_labels = set(TARGET_LABELS)
    for selector in reading.selectors:
        metric = selector.metric
        if metric in SCRAPE_SERIES:
            own = SCRAPE_SERIES[metric]
        elif metric in series:
            own = set(series[metric])
        else:
            found.append("no series %s on the page" % metric)
            continue
        known_labels |= own
        if metric.endswith("_bucket"):
            known_labels.add("le")
        for label, op, value in selector.matchers:
            if label not in own and label not in TARGET_LABELS:
                found.append("%s has no label %s" % (metric, label))
                continue
            for name in re.findall(r"\$\{?(\w+)\}?", value):
                if name not in variables:
                    found.append("%s{%s%s%r} uses undefined variable $%s" % (metric, label, op, value, name))
            if "$" in value or label in TARGET_LABELS:
                continue
            domain = _domain(series, metric, label)
            if op in ("=", "!=") or _LITERALS.fullmatch(value):
                wanted = [value] if op in ("=", "!=") else value.split("|")
                for v in wanted:
                    if v not in domain:
                        found.append("%s{%s%s%r}: quantd never writes %s=%r (it writes %s)"
                                     % (metric, label, op, value, label, v, sorted(domain)))
            elif not any(re.fullmatch(value, v) for v in domain):
                found.append("%s{%s%s%r} matches none of %s" % (metric, label, op, value, sorted(domain)))
    for label in sorted(reading.grouping - known_labels):
        found.append("grouping by %s, which none of %s carries"
                     % (label, sorted({s.metric for s in reading.selectors})))
    return found
