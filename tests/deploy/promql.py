"""What a PromQL expression reads: its series selectors (metric name and label
matchers) and the labels it groups or matches by. A tokenizer and a walk over
the tokens, not a full parser: promtool checks the syntax; this finds the
names so that they can be held against a real /metrics page. Anything it
does not recognise (an unknown function, a selector without a metric name)
raises, so an expression is never half read."""

import ast
import re

# Prometheus 2.42's functions and aggregation operators.
FUNCTIONS = frozenset("""
abs absent absent_over_time acos acosh asin asinh atan atanh avg_over_time ceil changes clamp clamp_max
clamp_min cos cosh count_over_time days_in_month day_of_month day_of_week day_of_year deg delta deriv exp
floor histogram_count histogram_fraction histogram_quantile histogram_sum holt_winters hour idelta
increase irate label_join label_replace last_over_time ln log10 log2 max_over_time min_over_time minute
month pi predict_linear present_over_time quantile_over_time rad rate resets round scalar sgn sin sinh
sort sort_desc sqrt stddev_over_time stdvar_over_time sum_over_time tan tanh time timestamp vector year
""".split())
AGGREGATIONS = frozenset(
    "sum min max avg group stddev stdvar count count_values bottomk topk quantile".split())
GROUPING = frozenset("by without on ignoring group_left group_right".split())
OPERATOR_WORDS = frozenset("and or unless bool atan2".split())

_TOKEN = re.compile(r"""
    (?P<space>\s+|\#[^\n]*)
  | (?P<string>"(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*'|`[^`]*`)
  | (?P<number>0x[0-9a-fA-F]+|(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?(?:(?:ms|s|m|h|d|w|y)(?:\d+(?:ms|s|m|h|d|w|y))*)?)
  | (?P<ident>[a-zA-Z_:][a-zA-Z0-9_:]*)
  | (?P<variable>\$\{?\w+\}?)
  | (?P<op>=~|!~|!=|==|>=|<=|[-+*/%^=<>{}()\[\],@])
""", re.VERBOSE)


class Selector:
    """One series selector: a metric name and its matchers (label, op, value)."""

    def __init__(self, metric, matchers):
        self.metric = metric
        self.matchers = matchers

    def __repr__(self):
        return "%s{%s}" % (self.metric, ", ".join('%s%s"%s"' % m for m in self.matchers))


def tokenize(expr):
    tokens = []
    pos = 0
    while pos < len(expr):
        match = _TOKEN.match(expr, pos)
        if not match:
            raise ValueError("cannot read %r at %r" % (expr, expr[pos:pos + 20]))
        pos = match.end()
        if match.lastgroup != "space":
            tokens.append((match.lastgroup, match.group()))
    return tokens


def _unquote(text):
    if text.startswith("`"):
        return text[1:-1]
    return ast.literal_eval(text)


class Reading:
    """The selectors and grouping labels of one expression."""

    def __init__(self, expr):
        self.selectors = []
        self.grouping = set()
        self.variables = set()  # Grafana's $name outside strings, e.g. in ranges.
        self._tokens = tokenize(expr)
        self._expr = expr
        self._walk()

    def _at(self, i):
        return self._tokens[i] if i < len(self._tokens) else (None, None)

    def _fail(self, why):
        raise ValueError("%s in %r" % (why, self._expr))

    def _label_list(self, i):
        """Reads '( label, ... )' from i; returns the index after ')'."""
        if self._at(i)[1] != "(":
            self._fail("expected '(' after a grouping keyword")
        i += 1
        while self._at(i)[1] != ")":
            kind, text = self._at(i)
            if kind == "ident":
                self.grouping.add(text)
            elif text != ",":
                self._fail("unexpected %r in a label list" % text)
            i += 1
        return i + 1

    def _matchers(self, i):
        """Reads '{ label op "value", ... }' from i; returns (matchers, index after '}')."""
        matchers = []
        i += 1
        while self._at(i)[1] != "}":
            if self._at(i)[1] == ",":
                i += 1
                continue
            (lkind, label), (_, op), (vkind, value) = self._at(i), self._at(i + 1), self._at(i + 2)
            if lkind != "ident" or op not in ("=", "!=", "=~", "!~") or vkind != "string":
                self._fail("unexpected matcher %s %s %s" % (label, op, value))
            matchers.append((label, op, _unquote(value)))
            i += 3
        return matchers, i + 1

    def _walk(self):
        i = 0
        while i < len(self._tokens):
            kind, text = self._tokens[i]
            following = self._at(i + 1)[1]
            if kind == "variable":
                self.variables.add(text.strip("${}"))
            elif text == "[":  # A range or subquery: durations (or variables) only.
                while self._at(i)[1] not in ("]", None):
                    if self._at(i)[0] == "variable":
                        self.variables.add(self._at(i)[1].strip("${}"))
                    i += 1
            elif text == "{":
                self._fail("a selector without a metric name")
            elif kind == "ident":
                if text in GROUPING:
                    if following == "(":
                        i = self._label_list(i + 1)
                        continue
                    if text not in ("group_left", "group_right"):
                        self._fail("%s without labels" % text)
                elif text == "offset":
                    i += 2 if following != "-" else 3
                    continue
                elif text in OPERATOR_WORDS or text.lower() in ("inf", "nan"):
                    pass
                elif text in AGGREGATIONS and following in ("(", "by", "without"):
                    pass
                elif following == "(":
                    if text not in FUNCTIONS:
                        self._fail("unknown function %s" % text)
                else:
                    matchers = []
                    i += 1
                    if self._at(i)[1] == "{":
                        matchers, i = self._matchers(i)
                    self.selectors.append(Selector(text, matchers))
                    continue
            i += 1
