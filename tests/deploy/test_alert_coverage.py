"""Every alert of deploy/prometheus/quantd-alerts.yaml has unit tests in
quantd-alerts.test.yaml that see it fire and see it stay silent; promtool
itself does not require an alert to be tested at all."""

import os
import unittest

import yaml

PROMETHEUS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "deploy", "prometheus")


def load(name):
    with open(os.path.join(PROMETHEUS, name)) as f:
        return yaml.safe_load(f)


class AlertCoverageTest(unittest.TestCase):
    def test_every_alert_is_seen_firing_and_silent(self):
        alerts = [r["alert"] for g in load("quantd-alerts.yaml")["groups"] for r in g["rules"] if "alert" in r]
        tests = load("quantd-alerts.test.yaml")
        self.assertIn("quantd-alerts.yaml", tests["rule_files"])
        firing, silent = set(), set()
        for case in tests["tests"]:
            for check in case.get("alert_rule_test", []):
                (firing if check.get("exp_alerts") else silent).add(check["alertname"])
        self.assertGreaterEqual(len(alerts), 6)
        for alert in alerts:
            with self.subTest(alert):
                self.assertIn(alert, firing, "no test sees %s fire" % alert)
                self.assertIn(alert, silent, "no test sees %s stay silent" % alert)

    def test_every_alert_says_what_and_how_bad(self):
        for group in load("quantd-alerts.yaml")["groups"]:
            for rule in group["rules"]:
                if "alert" not in rule:
                    continue
                with self.subTest(rule["alert"]):
                    self.assertIn(rule["labels"]["severity"], ("warning", "critical"))
                    self.assertTrue(rule["annotations"]["summary"] and rule["annotations"]["description"])
                    self.assertIn("for", rule)


if __name__ == "__main__":
    unittest.main()
